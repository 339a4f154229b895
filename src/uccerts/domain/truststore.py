"""Trust-store rules of domain.md §6 as pure functions.

- At most one certificate per subject common name in a store.
- Same CN already there: equal serials → the same certificate (unchanged); a later
  validity start ("From") replaces it; anything else is refused (``trust-not-newer``).
- Expired certificates are never uploaded (``certificate-expired``).
- A bundle is uploaded root first. File names are ``<CN>.pem``, made safe, with the
  serial appended on a collision.

The caller (services) applies the decisions; nothing here touches storage or a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509

from uccerts.domain.findings import Finding
from uccerts.domain.model import TrustEntry
from uccerts.domain.names import common_name, safe_filename

Action = Literal["add", "replace", "unchanged", "refuse"]

EXPIRED_CODE = "certificate-expired"
EXPIRED_MESSAGE = "Certificate has expired and cannot be uploaded"
NOT_NEWER_CODE = "trust-not-newer"


@dataclass(frozen=True)
class TrustDecision:
    """What to do with one uploaded certificate. ``replaces`` names the file of the
    entry it replaces; ``finding`` says why when the action is ``refuse``."""

    certificate: x509.Certificate
    action: Action
    replaces: str | None = None
    finding: Finding | None = None


def store_key(cert: x509.Certificate) -> str:
    """The name a store is keyed by: the CN, or the whole subject when it has none
    (old roots sometimes carry only O/OU), so two CN-less CAs do not collide."""
    return common_name(cert.subject) or cert.subject.rfc4514_string()


def order_root_first(certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """Self-issued certificates first, then each certificate after its issuer.

    Certificates whose issuer is not in the list keep their relative order and come
    after everything that could be placed; exact duplicates are kept (the caller
    decides on them). Linear in practice: a file holds a handful of certificates.
    """
    remaining = list(certs)
    placed: list[x509.Certificate] = [c for c in remaining if c.subject == c.issuer]
    remaining = [c for c in remaining if c.subject != c.issuer]
    while remaining:
        known = {c.subject for c in placed}
        ready = [c for c in remaining if c.issuer in known]
        if not ready:
            break
        placed += ready
        remaining = [c for c in remaining if c.issuer not in known]
    return placed + remaining


def decide_trust_upload(
    store: str,
    certificates: Sequence[x509.Certificate],
    existing_by_cn: Callable[[str], TrustEntry | None],
    *,
    now: datetime,
) -> list[TrustDecision]:
    """One decision per uploaded certificate, root first (domain.md §6).

    Inside one upload, certificates sharing a CN are settled first: the one with the
    latest "From" (the first of equals) goes on to meet the store; a copy of it (same
    serial) is ``unchanged``, the others are refused as not newer.
    """
    ordered = order_root_first(certificates)
    winners = _winners_by_key(c for c in ordered if not _expired(c, now))
    decisions: list[TrustDecision] = []
    met_store: set[str] = set()  # keys whose winner already met the store
    for cert in ordered:
        key = store_key(cert)
        if _expired(cert, now):
            decisions.append(_refuse(cert, _expired_finding(cert)))
        elif cert is winners[key] and key not in met_store:
            met_store.add(key)
            decisions.append(_versus_store(cert, existing_by_cn(key), store))
        else:  # another of the same CN in this upload, or the winner listed twice
            decisions.append(_versus(cert, winners[key], store, filename=None))
    return decisions


def _winners_by_key(certs: Iterable[x509.Certificate]) -> dict[str, x509.Certificate]:
    winners: dict[str, x509.Certificate] = {}
    for cert in certs:
        key = store_key(cert)
        best = winners.get(key)
        if best is None or cert.not_valid_before_utc > best.not_valid_before_utc:
            winners[key] = cert
    return winners


def _versus_store(cert: x509.Certificate, entry: TrustEntry | None, store: str
                  ) -> TrustDecision:
    if entry is None:
        return TrustDecision(cert, "add")
    return _versus(cert, entry.certificate, store, filename=entry.filename)


def _versus(cert: x509.Certificate, other: x509.Certificate, store: str,
            *, filename: str | None) -> TrustDecision:
    """``cert`` meets ``other`` of the same CN (in the store when ``filename`` is set)."""
    if cert.serial_number == other.serial_number:
        return TrustDecision(cert, "unchanged")
    if filename is not None and cert.not_valid_before_utc > other.not_valid_before_utc:
        return TrustDecision(cert, "replace", replaces=filename)
    return _refuse(cert, _not_newer_finding(cert, other, store, filename))


def _refuse(cert: x509.Certificate, finding: Finding) -> TrustDecision:
    return TrustDecision(cert, "refuse", finding=finding)


def _expired(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_after_utc < now


def _expired_finding(cert: x509.Certificate) -> Finding:
    return Finding(
        EXPIRED_CODE,
        EXPIRED_MESSAGE,
        fix="Get the current certificate from the CA (its download page or the "
            "administrator) and upload that one",
        detail={"common_name": store_key(cert),
                "not_after": cert.not_valid_after_utc.isoformat()},
    )


def _not_newer_finding(cert: x509.Certificate, other: x509.Certificate, store: str,
                       filename: str | None) -> Finding:
    detail: dict[str, object] = {
        "common_name": store_key(cert),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "existing_serial": format(other.serial_number, "x"),
        "existing_not_before": other.not_valid_before_utc.isoformat(),
    }
    if filename is not None:
        detail["existing_filename"] = filename
    else:
        detail["same_upload"] = True
    return Finding(
        NOT_NEWER_CODE,
        f"A certificate with the same common name and a later validity start already "
        f"exists in {store}",
        fix="Nothing to do if the newer certificate is the one you want; to go back to "
            f"this one, delete the newer one from {store} first, then upload again",
        detail=detail,
    )


def trust_filename(cert: x509.Certificate, taken: Collection[str]) -> str:
    """``<CN>.pem`` made safe (``[A-Za-z0-9_.-]``); on a collision the serial is
    appended, then a counter. Collisions ignore case: stores may live on
    case-insensitive file systems and the admin shell matches names loosely."""
    used = {t.lower() for t in taken}
    base = safe_filename(store_key(cert))
    candidates = [f"{base}.pem", f"{base}_{cert.serial_number:x}.pem"]
    for candidate in candidates:
        if candidate.lower() not in used:
            return candidate
    n = 2
    while f"{base}_{cert.serial_number:x}_{n}.pem".lower() in used:
        n += 1
    return f"{base}_{cert.serial_number:x}_{n}.pem"
