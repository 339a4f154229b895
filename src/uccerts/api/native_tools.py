"""Offline tools by PEM text (domain.md §11): decode, match, check. They read nothing
from the cluster and change nothing, so read-only accounts may use them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from fastapi import APIRouter

from uccerts.api.native_auth import Caller
from uccerts.api.native_models import CheckIn, CheckOut, DecodeIn, MatchIn, MatchOut
from uccerts.domain import codec
from uccerts.domain.checks import check_identity_upload
from uccerts.domain.inspect import (
    leaf_of,
    match_certificate_csr,
    match_certificate_key,
    summarize_certificate,
    summarize_csr,
)
from uccerts.domain.model import SanMatch
from uccerts.domain.purposes import purpose as find_purpose
from uccerts.errors import UsageError

router = APIRouter()


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "replace")


@router.post("/tools/decode", tags=["tools"])
def decode(body: DecodeIn, principal: Caller) -> Any:
    """CSR Summary or Certificate Summary (`uccerts decode --json`): one object for a
    CSR or a single certificate, a list for several certificates."""
    loaded = codec.load_certificates_or_csr(_bytes(body.pem))
    if isinstance(loaded, list):
        docs = [summarize_certificate(c).to_dict() for c in loaded]
        return docs[0] if len(docs) == 1 else docs
    return summarize_csr(loaded).to_dict()


@router.post("/tools/match", response_model=MatchOut, tags=["tools"])
def match(body: MatchIn, principal: Caller) -> Any:
    """Certificate vs private key, or vs CSR: SHA-256 of each SubjectPublicKeyInfo.
    The key is compared in memory, never stored or logged."""
    if (body.key is None) == (body.csr is None):
        raise UsageError("Give exactly one of key and csr", code="usage",
                         fix='{"certificate": PEM, "key": PEM} or {"certificate", "csr"}')
    certificate = leaf_of(codec.load_certificates(_bytes(body.certificate)))
    if body.key is not None:
        result = match_certificate_key(certificate, codec.load_private_key(_bytes(body.key)))
    else:
        result = match_certificate_csr(certificate, codec.load_csr(_bytes(body.csr or "")))
    return result.to_dict() | {"verdict": result.verdict}


@router.post("/tools/check", response_model=CheckOut, tags=["tools"])
def check(body: CheckIn, principal: Caller) -> Any:
    """The upload checks of domain.md §5 without a cluster: the CSR plays the pending
    CSR, `ca` plays the trust store. 200 either way, `ok` the verdict; a file that
    cannot be read is a 400 problem."""
    p = find_purpose(body.purpose)
    certs = codec.load_certificates(_bytes(body.certificate))
    pending = codec.load_csr(_bytes(body.csr))
    store: list[x509.Certificate] = []
    for pem in body.ca:
        store += codec.load_certificates(_bytes(pem))

    def trusted(name: x509.Name) -> list[x509.Certificate]:
        return [c for c in store if c.subject == name]

    verdict = check_identity_upload(p, certs, pending, trusted, now=datetime.now(UTC),
                                    san_match=SanMatch(body.san_match), strict=body.strict)
    return {"ok": verdict.ok, "errors": [f.to_dict() for f in verdict.errors],
            "warnings": [f.to_dict() for f in verdict.warnings]}
