"""Decode summaries, fingerprints and match verdicts: the offline tools (domain.md §11).

``CertificateSummary`` / ``CsrSummary`` are what the seed's online decoder shows
("Certificate Summary", "CSR Summary"); ``to_dict`` gives the JSON of ``uccerts
decode`` (cli.md) and ``render_text`` the human form. ``match_*`` compare the SHA-256
of the DER SubjectPublicKeyInfo, as the seed's "Certificate Hash" / "CSR Hash" do.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from uccerts.domain.chain import is_ca
from uccerts.domain.codec import INVALID_FILE
from uccerts.domain.keys import public_key_hash
from uccerts.domain.names import RDN_ORDER, rdns, sans_of
from uccerts.errors import InvalidInput

# Short names for attributes RFC 4514 does not abbreviate, spelled as OpenSSL does, so
# an issuer such as "CN = Collab CA, DC = collab, DC = mx" reads the same in both.
_EXTRA_NAMES = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.TITLE: "title",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
    NameOID.DN_QUALIFIER: "dnQualifier",
    NameOID.POSTAL_CODE: "postalCode",
}
_RANK = {oid: i for i, (_, oid) in enumerate(RDN_ORDER)}
_RDN_TITLES = {
    "CN": "Common Name (CN)",
    "OU": "Organizational Unit (OU)",
    "O": "Organization (O)",
    "L": "Locality (L)",
    "ST": "State (ST)",
    "C": "Country (C)",
}


# --------------------------------------------------------------------------- formatting


def colon_hex(data: bytes) -> str:
    """``AA:BB:…``: upper-case, colon-separated, as the seed prints fingerprints."""
    return ":".join(f"{b:02X}" for b in data)


def serial_bytes(serial: int) -> bytes:
    """The serial's magnitude as bytes (at least one), as OpenSSL prints it."""
    magnitude = abs(serial)
    return magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "big")


def iso_utc(when: dt.datetime) -> str:
    """ISO 8601 UTC with ``Z`` (cli.md Global); a naive time is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def name_line(name: x509.Name) -> str:
    """``CN = …, OU = …, O = …, L = …, ST = …, C = …`` then any other attributes.

    The six subject fields come first in the seed's order whatever their order in
    the DER; other attributes (DC, emailAddress, …) follow in RFC 4514 order (the
    reverse of the DER), which is how the seed shows ``CN = Collab CA,DC = collab,DC
    = mx``.
    """
    attrs = list(reversed(list(name)))
    attrs.sort(key=lambda a: _RANK.get(a.oid, len(_RANK)))  # stable: keeps 4514 order
    return ", ".join(f"{_short_name(a)} = {_text(a.value)}" for a in attrs)


def _short_name(attr: x509.NameAttribute[str | bytes]) -> str:
    if attr.oid in _EXTRA_NAMES:
        return _EXTRA_NAMES[attr.oid]
    return attr.rfc4514_attribute_name


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.hex()


def key_description(public_key: CertificatePublicKeyTypes) -> tuple[str, int]:
    """(key type, size in bits). Identity keys are RSA or EC; a CA in a bundle may be
    anything, and decode must still describe it rather than fail."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA", public_key.key_size
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "EC", public_key.curve.key_size
    if isinstance(public_key, dsa.DSAPublicKey):
        return "DSA", public_key.key_size
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(public_key).__name__.removesuffix("PublicKey"), 0


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class CsrSummary:
    """What the seed's decoder shows for a CSR."""

    kind: ClassVar[str] = "csr"
    title: ClassVar[str] = "CSR Summary"

    subject: str
    rdns: Mapping[str, str] = field(hash=False)
    key_type: str
    key_size: int
    sha1: str
    md5: str
    sans: tuple[str, ...]
    public_key_sha256: str

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "rdns": dict(self.rdns),
            "key_type": self.key_type,
            "key_size": self.key_size,
            "sha1": self.sha1,
            "md5": self.md5,
            "sans": list(self.sans),
            "public_key_sha256": self.public_key_sha256,
        }


@dataclass(frozen=True)
class CertificateSummary(CsrSummary):
    """What the seed's decoder shows for a certificate: the CSR fields and more."""

    kind: ClassVar[str] = "certificate"
    title: ClassVar[str] = "Certificate Summary"

    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    serial: int
    is_ca: bool

    @property
    def serial_hex(self) -> str:
        """Upper-case hex without separators, as ``openssl x509 -serial`` prints it."""
        return self._sign + serial_bytes(self.serial).hex().upper()

    @property
    def serial_colon_hex(self) -> str:
        return self._sign + colon_hex(serial_bytes(self.serial))

    @property
    def _sign(self) -> str:
        # RFC 5280 forbids negative serials, but some old CAs issued them (codec loads them)
        return "-" if self.serial < 0 else ""

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out.update({
            "issuer": self.issuer,
            "not_before": iso_utc(self.not_before),
            "not_after": iso_utc(self.not_after),
            "serial_hex": self.serial_hex,
            "serial_decimal": str(self.serial),
            "is_ca": self.is_ca,
        })
        return out


def summarize_csr(csr: x509.CertificateSigningRequest | x509.Certificate) -> CsrSummary:
    """The fields a CSR and a certificate share (fingerprints are of the whole DER)."""
    der = csr.public_bytes(Encoding.DER)
    public_key = csr.public_key()
    key_type, key_size = key_description(public_key)
    return CsrSummary(
        subject=name_line(csr.subject),
        rdns=rdns(csr.subject),
        key_type=key_type,
        key_size=key_size,
        # Fingerprints, not security: MD5 and SHA-1 are what the seed's decoder shows.
        sha1=colon_hex(hashlib.sha1(der, usedforsecurity=False).digest()),
        md5=colon_hex(hashlib.md5(der, usedforsecurity=False).digest()),
        sans=tuple(sans_of(csr)),
        public_key_sha256=public_key_hash(public_key),
    )


def summarize_certificate(cert: x509.Certificate) -> CertificateSummary:
    return CertificateSummary(
        **vars(summarize_csr(cert)),
        issuer=name_line(cert.issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial=cert.serial_number,
        is_ca=is_ca(cert),
    )


def render_text(summary: CsrSummary) -> str:
    """The seed's summary table as ``Label: value`` lines (no trailing newline)."""
    lines = [summary.title, "Subject"]
    for label, value in summary.rdns.items():
        lines.append(f"  {_RDN_TITLES[label]}: {value}".rstrip())
    lines.append("Properties")
    props: list[tuple[str, str]] = []
    if isinstance(summary, CertificateSummary):
        props.append(("Issuer", summary.issuer))
    props.append(("Subject", summary.subject))
    if isinstance(summary, CertificateSummary):
        props += [
            ("Valid From", _human_time(summary.not_before)),
            ("Valid To", _human_time(summary.not_after)),
            ("Serial Number", f"{summary.serial_colon_hex} ({summary.serial})"),
            ("CA cert", "Yes" if summary.is_ca else "No"),
        ]
    props += [
        ("Key Type", summary.key_type),
        ("Key Size", f"{summary.key_size} bits"),
        ("Fingerprint (SHA-1)", summary.sha1),
        ("Fingerprint (MD5)", summary.md5),
        ("SANs", ", ".join(summary.sans) if summary.sans else "(none)"),
        ("Public Key SHA-256", summary.public_key_sha256),
    ]
    lines += [f"  {label}: {value}" for label, value in props]
    return "\n".join(lines)


def _human_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%d %b %Y, %H:%M:%S UTC")


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class MatchResult:
    """A certificate's public-key hash against a private key's or a CSR's."""

    other: str  # "key" | "csr"
    certificate_hash: str
    other_hash: str

    @property
    def match(self) -> bool:
        return self.certificate_hash == self.other_hash

    @property
    def verdict(self) -> str:
        what = "private key" if self.other == "key" else "CSR"
        return f"The certificate and {what} {'match' if self.match else 'do NOT match'}!"

    def to_dict(self) -> dict[str, object]:
        return {
            "match": self.match,
            "certificate_hash": self.certificate_hash,
            f"{self.other}_hash": self.other_hash,
        }

    def render_hashes(self) -> str:
        """The seed's hash lines; never any key material, only SPKI hashes."""
        other = "Key" if self.other == "key" else "CSR"
        return f"Certificate Hash: {self.certificate_hash}\n{other} Hash: {self.other_hash}"


def match_certificate_key(cert: x509.Certificate, key: PrivateKeyTypes) -> MatchResult:
    return MatchResult("key", public_key_hash(cert.public_key()),
                       public_key_hash(key.public_key()))


def match_certificate_csr(cert: x509.Certificate, csr: x509.CertificateSigningRequest
                          ) -> MatchResult:
    return MatchResult("csr", public_key_hash(cert.public_key()),
                       public_key_hash(csr.public_key()))


def leaf_of(certs: Sequence[x509.Certificate]) -> x509.Certificate:
    """The end-entity certificate of a file: the one that issued no other in it.

    A .p7b from a CA is a SET (often root first), so "the first one" is not enough.
    Prefers a non-CA among those; falls back to the first certificate.
    """
    if not certs:
        raise InvalidInput("No certificate given", code=INVALID_FILE)
    # Like checks.pick_leaf, without its CSR preference: decode and match must start
    # fast and need no purpose rules.
    issuers = {c.issuer for c in certs if c.issuer != c.subject}
    candidates = [c for c in certs if c.subject not in issuers] or list(certs)
    non_ca = [c for c in candidates if not is_ca(c)]
    return (non_ca or candidates)[0]
