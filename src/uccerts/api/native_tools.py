"""Offline tools by PEM text (domain.md §11): decode, match, check. They read nothing
from the cluster and change nothing, so read-only accounts may use them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from uccerts.api.native_auth import ReadServices
from uccerts.api.native_models import CheckIn, CheckOut, DecodeIn, MatchIn, MatchOut

router = APIRouter()


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "replace")


@router.post("/tools/decode", tags=["tools"])
def decode(body: DecodeIn, services: ReadServices) -> Any:
    """CSR Summary or Certificate Summary (`uccerts decode --json`): one object for a
    CSR or a single certificate, a list for several certificates."""
    return services.tools.decode(_bytes(body.pem)).to_json()


@router.post("/tools/match", response_model=MatchOut, tags=["tools"])
def match(body: MatchIn, services: ReadServices) -> Any:
    """Certificate vs private key, or vs CSR: SHA-256 of each SubjectPublicKeyInfo.
    The key is compared in memory, never stored or logged."""
    result = services.tools.match(
        _bytes(body.certificate), key=None if body.key is None else _bytes(body.key),
        csr=None if body.csr is None else _bytes(body.csr))
    return result.to_dict() | {"verdict": result.verdict}


@router.post("/tools/check", response_model=CheckOut, tags=["tools"])
def check(body: CheckIn, services: ReadServices) -> Any:
    """The upload checks of domain.md §5 without a cluster: the CSR plays the pending
    CSR, `ca` plays the trust store. 200 either way, `ok` the verdict; a file that
    cannot be read is a 400 problem."""
    verdict = services.tools.check(
        body.purpose, certificate=_bytes(body.certificate), csr=_bytes(body.csr),
        ca=[_bytes(pem) for pem in body.ca], san_match=body.san_match,
        strict=body.strict).verdict
    return {"ok": verdict.ok, "errors": [f.to_dict() for f in verdict.errors],
            "warnings": [f.to_dict() for f in verdict.warnings]}
