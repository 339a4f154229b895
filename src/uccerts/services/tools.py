"""The offline tools of domain.md §11, defined once for every face: ``decode``,
``match`` and ``check``.

They read nothing from a cluster and store nothing (a private key given to ``match``
is used for its public-key hash and forgotten), so read-only accounts may use them and
the CLI runs them without a home. Time comes from the clock handed in (the context's
clock when built by the composition root). Only the clock is imported at module level:
``uccerts decode FILE`` must start fast, so the domain is imported by each tool.

One set of rules for ``check``: the purposes a CA signs (every identity purpose but the
self-signed-only ones) with the purpose's own trust rules, ``san_match`` exact or
superset, ``strict`` turning a missing key usage into an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from uccerts.services.clock import Clock, utc_now

if TYPE_CHECKING:
    from cryptography import x509

    from uccerts.domain.checks import UploadVerdict
    from uccerts.domain.inspect import CsrSummary, MatchResult
    from uccerts.domain.model import SanMatch
    from uccerts.domain.purposes import Purpose

def check_purposes() -> list[str]:
    """The purposes ``check`` accepts, in catalogue order (the console's choices)."""
    from uccerts.domain.purposes import PURPOSES

    return [p.name for p in PURPOSES if not p.self_signed_only]


@dataclass(frozen=True)
class Decoded:
    """What ``decode`` found: one CSR summary, or one summary per certificate."""

    summaries: tuple[CsrSummary, ...]
    is_csr: bool

    def to_json(self) -> object:
        """The JSON the CLI and API give: one object, or a list for several certs."""
        docs = [s.to_dict() for s in self.summaries]
        return docs[0] if len(docs) == 1 else docs


@dataclass(frozen=True)
class Checked:
    """The verdict of ``check`` for the canonical purpose name."""

    purpose: str
    verdict: UploadVerdict


class ToolsService:
    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock

    def decode(self, data: bytes) -> Decoded:
        from uccerts.domain import codec
        from uccerts.domain.inspect import summarize_certificate, summarize_csr

        loaded = codec.load_certificates_or_csr(data)
        if isinstance(loaded, list):
            return Decoded(tuple(summarize_certificate(c) for c in loaded), is_csr=False)
        return Decoded((summarize_csr(loaded),), is_csr=True)

    def match(self, certificate: bytes, *, key: bytes | None = None,
              csr: bytes | None = None) -> MatchResult:
        """Certificate against exactly one of a private key and a CSR."""
        from uccerts.domain import codec
        from uccerts.domain.inspect import (
            leaf_of,
            match_certificate_csr,
            match_certificate_key,
        )
        from uccerts.errors import UsageError

        if (key is None) == (csr is None):
            raise UsageError("Give exactly one of a private key and a CSR", code="usage",
                             fix="Compare the certificate with its key or with its CSR")
        cert = leaf_of(codec.load_certificates(certificate))
        if key is not None:
            return match_certificate_key(cert, codec.load_private_key(key))
        assert csr is not None  # exactly one of the two, checked above
        return match_certificate_csr(cert, codec.load_csr(csr))

    def check(self, purpose: str, *, certificate: bytes, csr: bytes,
              ca: Sequence[bytes] = (), san_match: str = "exact",
              strict: bool = False) -> Checked:
        """The upload checks of domain.md §5 without a cluster: ``csr`` plays the
        pending CSR, the ``ca`` files the purpose's trust store. Usage problems raise
        UsageError/NotFound; an input that cannot be read raises UnreadableInput
        naming it (``certificate``, ``csr``, ``ca`` with its index)."""
        from uccerts.domain import codec
        from uccerts.domain.checks import check_identity_upload
        from uccerts.errors import InvalidInput, UnreadableInput

        p = self.check_purpose(purpose)
        match = parse_san_match(san_match)
        field, index = "certificate", 0
        try:
            certs = codec.load_certificates(certificate)
            field = "csr"
            pending = codec.load_csr(csr)
            field = "ca"
            store: list[x509.Certificate] = []
            for data in ca:
                store += codec.load_certificates(data)
                index += 1
        except InvalidInput as err:
            raise UnreadableInput(err, field, index) from err
        verdict = check_identity_upload(p, certs, pending, _lookup(store), now=self._clock(),
                                        san_match=match, strict=strict)
        return Checked(p.name, verdict)

    @staticmethod
    def check_purpose(name: str) -> Purpose:
        """The catalogue purpose ``check`` runs for ``name``, or a usage error."""
        from uccerts.domain.purposes import purpose as find_purpose
        from uccerts.errors import UsageError

        p = find_purpose(name)
        if p.self_signed_only:
            raise UsageError(f"{p.name} certificates are self-signed only; no CA signs them",
                             code="purpose-self-signed-only",
                             fix="Check one of: " + ", ".join(check_purposes()))
        return p


def parse_san_match(text: str) -> SanMatch:
    from uccerts.domain.model import SanMatch
    from uccerts.errors import UsageError

    try:
        return SanMatch(text.strip().lower())
    except ValueError:
        raise UsageError(f"Unknown SAN match '{text}'", code="usage",
                         fix="Use exact or superset") from None


def _lookup(store: Sequence[x509.Certificate]) -> Callable[[x509.Name], list[x509.Certificate]]:
    def trusted(name: x509.Name) -> list[x509.Certificate]:
        return [c for c in store if c.subject == name]
    return trusted
