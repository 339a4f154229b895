"""Issuer paths and chain validation: the ONLY user of ``cryptography.x509.verification``.

Pure: the validation time is always passed in, nothing is read from disk or a clock.

Two kinds of verification live here:

- ``verify_path`` (uploads, domain.md §5 rule 7): leaf → root with the CA rules of
  the Web PKI kept on the CA certificates, but no EKU/KU demand on the leaf, because
  the purpose checks of domain.md §3 are done (and reported with their own finding)
  by ``checks.py``. A CAPF leaf is itself a CA (pathlen 0), so the leaf may be one.
- ``verify_server`` / ``verify_client``: cryptography's standard policies, for TLS
  and the x509-limbo suite.

``find_issuer_path`` gathers candidate issuers by subject name from a lookup, so an
upload never loads a whole trust store; it is bounded because files are hostile.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Lookup = Callable[[x509.Name], Sequence[x509.Certificate]]

MAX_DEPTH = 8  # CA certificates above the leaf; cryptography's own default
MAX_CANDIDATES = 64  # issuer candidates gathered for one leaf, all names together
MAX_PER_NAME = 16  # certificates taken from one subject name (re-keyed CAs, cross-signs)


@dataclass(frozen=True)
class ChainResult:
    """The outcome of one verification.

    ``chain`` is leaf first, up to and including the trust anchor, when ``ok``.
    ``reason`` is plain English. ``sha1`` says a certificate of the candidate path is
    signed with SHA-1 (refused by cryptography); ``missing_issuer`` says the path
    stops at a certificate whose issuer is in neither the trust store nor the file.
    """

    ok: bool
    chain: tuple[x509.Certificate, ...] = ()
    reason: str = ""
    sha1: bool = False
    missing_issuer: bool = False


# --- gathering candidates ----------------------------------------------------------


def is_ca(cert: x509.Certificate) -> bool:
    """BasicConstraints CA:TRUE, or an old v1 root without extensions."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.version is x509.Version.v1 and cert.subject == cert.issuer
    except (ValueError, x509.DuplicateExtension):  # malformed or duplicated extensions
        return False


def is_self_signed(cert: x509.Certificate) -> bool:
    """Self-issued and signed by its own key (a root); never raises on odd input."""
    return cert.subject == cert.issuer and signed_by(cert, cert)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer`` names and signed ``cert``. SHA-1 signatures are checked too: this
    recognises legacy roots and explains refusals; it never makes a path valid."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    except ValueError:  # cryptography refuses SHA-1 here: check it by hand
        return _is_sha1(cert) and _sha1_signature_valid(cert, issuer)


def _sha1_signature_valid(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    params = cert.signature_algorithm_parameters
    try:
        key = issuer.public_key()
        if isinstance(key, rsa.RSAPublicKey) and isinstance(params, padding.PKCS1v15):
            key.verify(cert.signature, cert.tbs_certificate_bytes, params, hashes.SHA1())
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(params, ec.ECDSA):
            key.verify(cert.signature, cert.tbs_certificate_bytes, params)
        else:
            return False
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def find_issuer_path(
    leaf: x509.Certificate,
    lookup: Lookup,
    extra: Sequence[x509.Certificate] = (),
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """Candidate ``(intermediates, roots)`` for ``leaf``, walking issuer names upward.

    Each level asks ``lookup`` (the trust store) and ``extra`` (the uploaded file) for
    certificates whose subject is the wanted issuer name. Self-signed certificates are
    roots and end their branch. Bounded in depth and in candidates, so a hostile file
    or store cannot make an upload slow.
    """
    intermediates: list[x509.Certificate] = []
    roots: list[x509.Certificate] = []
    seen: set[x509.Certificate] = {leaf}
    asked: set[x509.Name] = set()
    frontier = [leaf.issuer]
    for _ in range(MAX_DEPTH):
        upward: list[x509.Name] = []
        for name in frontier:
            if name in asked:
                continue
            asked.add(name)
            for cand in _candidates(name, lookup, extra):
                if cand in seen:
                    continue
                if len(seen) > MAX_CANDIDATES:
                    return intermediates, roots
                seen.add(cand)
                if is_self_signed(cand):
                    roots.append(cand)
                else:
                    intermediates.append(cand)
                    upward.append(cand.issuer)
        if not upward:
            break
        frontier = upward
    return intermediates, roots


def _candidates(name: x509.Name, lookup: Lookup, extra: Sequence[x509.Certificate]
                ) -> list[x509.Certificate]:
    found = list(lookup(name)[:MAX_PER_NAME])
    found += [c for c in extra if c.subject == name][:MAX_PER_NAME]
    return found


# --- verification ------------------------------------------------------------------


@cache
def _upload_policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """Web PKI CA rules kept (BasicConstraints CA, keyCertSign, pathlen, name
    constraints); EKU freed on CAs and EKU/KU/BasicConstraints/SAN/AKI freed on the leaf:
    the purpose decides those (domain.md §3), and a CAPF leaf is a CA."""
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None
    )
    ee = ExtensionPolicy.webpki_defaults_ee()
    # AKI too: older tools (OpenSSL 1.1 `x509 -req`) issue leaves without it, and the
    # issuer is found by name and signature anyway.
    for ext in (x509.ExtendedKeyUsage, x509.KeyUsage, x509.BasicConstraints,
                x509.SubjectAlternativeName, x509.AuthorityKeyIdentifier):
        ee = ee.may_be_present(ext, Criticality.AGNOSTIC, None)
    return ca, ee


def verify_path(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    at: datetime,
) -> ChainResult:
    """Verify leaf → root for an upload, with no EKU/KU requirement on the leaf."""
    if not roots:
        return _explain(leaf, intermediates, roots, "")
    ca_policy, ee_policy = _upload_policies()
    builder = (
        PolicyBuilder().store(Store(list(roots))).time(at).max_chain_depth(MAX_DEPTH)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
    )
    try:
        verified = builder.build_client_verifier().verify(leaf, list(intermediates))
    except VerificationError as exc:
        return _explain(leaf, intermediates, roots, str(exc))
    return ChainResult(ok=True, chain=tuple(verified.chain))


def verify_server(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    at: datetime,
    name: str | IP,
    max_depth: int | None = None,
) -> ChainResult:
    """cryptography's standard server policy: serverAuth, the name in the SAN."""
    if not roots:
        return _explain(leaf, intermediates, roots, "")
    try:
        verifier = _builder(roots, at, max_depth).build_server_verifier(_subject(name))
    except ValueError as exc:
        return ChainResult(ok=False, reason=f"'{name}' is not a valid server name: {exc}")
    try:
        chain = verifier.verify(leaf, list(intermediates))
    except VerificationError as exc:
        return _explain(leaf, intermediates, roots, str(exc))
    except ValueError as exc:  # a certificate name the verifier cannot even parse
        return ChainResult(ok=False, reason=f"the certificate cannot be verified: {exc}")
    return ChainResult(ok=True, chain=tuple(chain))


def verify_client(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    at: datetime,
    max_depth: int | None = None,
) -> ChainResult:
    """cryptography's standard client policy: clientAuth, no name check."""
    if not roots:
        return _explain(leaf, intermediates, roots, "")
    builder = _builder(roots, at, max_depth)
    try:
        verified = builder.build_client_verifier().verify(leaf, list(intermediates))
    except VerificationError as exc:
        return _explain(leaf, intermediates, roots, str(exc))
    return ChainResult(ok=True, chain=tuple(verified.chain))


def _builder(roots: Sequence[x509.Certificate], at: datetime, max_depth: int | None
             ) -> PolicyBuilder:
    builder = PolicyBuilder().store(Store(list(roots))).time(at)
    return builder if max_depth is None else builder.max_chain_depth(max_depth)


def _subject(name: str | IP) -> x509.DNSName | x509.IPAddress:
    if isinstance(name, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return x509.IPAddress(name)
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


# --- explaining a failure ----------------------------------------------------------

_NO_ISSUER = "all candidates exhausted with no interior errors"
_PROCESSING = re.compile(
    r"\s*\(encountered processing <Certificate\(subject=<Name\((.*?)\)>, \.\.\.\)>\)"
)


def _explain(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate],
             roots: Sequence[x509.Certificate], error: str) -> ChainResult:
    """Turn a verifier error into plain English, naming SHA-1 and a missing issuer.

    The verifier's text is terse ("candidates exhausted: ..."), so the candidate path
    is walked again by name to say which certificate lacks its issuer or is SHA-1.
    """
    path, top = _walk(leaf, [*intermediates, *roots], roots)
    sha1 = [c for c in path if _is_sha1(c) and not (c in roots and c.subject == c.issuer)]
    reasons: list[str] = []
    missing = top is not None
    if top is not None:
        reasons.append(f"no certificate of the issuer '{top.issuer.rfc4514_string()}' "
                       f"of '{top.subject.rfc4514_string()}' was found")
    for cert in sha1:
        reasons.append(f"'{cert.subject.rfc4514_string()}' is signed with SHA-1, "
                       "which is no longer accepted")
    if not reasons:
        reasons.append(_clean(error))
    return ChainResult(ok=False, reason="; ".join(reasons), sha1=bool(sha1),
                       missing_issuer=missing)


def _walk(leaf: x509.Certificate, pool: Sequence[x509.Certificate],
          roots: Sequence[x509.Certificate]
          ) -> tuple[list[x509.Certificate], x509.Certificate | None]:
    """Follow issuer names from the leaf; return the path and the certificate whose
    issuer is missing (None when a root of the store was reached)."""
    path = [leaf]
    current = leaf
    for _ in range(MAX_DEPTH + 1):
        if current in roots:
            return path, None
        issuers = [c for c in pool if c.subject == current.issuer and c not in path]
        if not issuers:
            return path, current
        current = next((c for c in issuers if signed_by(current, c)), issuers[0])
        path.append(current)
    return path, None


def _is_sha1(cert: x509.Certificate) -> bool:
    try:
        return isinstance(cert.signature_hash_algorithm, hashes.SHA1)
    except UnsupportedAlgorithm:
        return False


def _clean(error: str) -> str:
    text = error.removeprefix("validation failed: ").removeprefix("candidates exhausted: ")
    if text == _NO_ISSUER or not text:
        return "no issuer path with matching keys was found"
    return _PROCESSING.sub(lambda m: f" (in '{m.group(1)}')", text)
