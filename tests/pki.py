"""A small test PKI: roots, intermediates, leaves and CSRs built with ``cryptography``.

In the spirit of trustme: every test makes the certificates it needs, readable at the
call site, nothing is committed. Times are relative to ``NOW`` (a fixed instant) so
tests are deterministic; pass the same ``now`` to the code under test.

    root = CA.root()                                   # EC P-256 root, 10 years
    issuing = root.intermediate("Issuing CA")          # pathlen 0 intermediate
    csr, key = make_csr("pub.uc.example", ["pub.uc.example", "10.0.0.1"])
    cert = issuing.sign_csr(csr, add_sans=["*.uc.example"])      # what a CA returns
    other = issuing.issue("sub.uc.example", sans=["sub.uc.example"])   # with its key
    legacy = CA.root("Old Root", key_type="rsa", sha1=True)        # SHA-1 self-signed
    old_issuer = legacy.intermediate("Old Issuing", sha1=True)     # SHA-1 signed by root

Options on ``issue`` / ``sign_csr`` / ``intermediate``: ``sans`` (DNS names or IPs),
``not_before`` / ``not_after`` (datetimes) or ``days``, ``key_usage`` (a set of
``KeyUsage`` field names such as ``{"digital_signature", "key_encipherment"}``, or
``None`` for no extension), ``eku`` (OIDs, or ``None``), ``ca`` and ``pathlen``
(BasicConstraints), ``sha1`` (sign with SHA-1, RSA issuers only: cryptography no
longer signs SHA-1, so the signature is made by hand; see ``_resign_sha1``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

CA_KU = frozenset({"key_cert_sign", "crl_sign", "digital_signature"})
RSA_LEAF_KU = frozenset({"digital_signature", "key_encipherment", "data_encipherment"})
EC_LEAF_KU = frozenset({"digital_signature", "key_agreement"})
IPSEC_END_SYSTEM = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5")
WEB_EKU = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
IPSEC_EKU = (*WEB_EKU, IPSEC_END_SYSTEM)

_KU_FIELDS = ("digital_signature", "content_commitment", "key_encipherment",
              "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
              "encipher_only", "decipher_only")


class CertOptions(TypedDict, total=False):
    """Options every builder takes (see the module docstring)."""

    ca: bool
    pathlen: int | None
    key_usage: Iterable[str] | None
    eku: Sequence[x509.ObjectIdentifier] | None
    not_before: dt.datetime
    not_after: dt.datetime
    days: int
    sha1: bool
    basic_constraints: bool
    serial: int
    aki: bool


def make_key(key_type: str = "rsa", size: int | None = None) -> PrivateKey:
    """``rsa`` (default 2048 bits) or ``ec`` (default P-256; 384 and 521 too)."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size or 2048)
    curve = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}[size or 256]
    return ec.generate_private_key(curve)


def name(cn: str, **rdns: str) -> x509.Name:
    """``name("pub.uc.example", O="Example", C="MX")``: CN first, then O, OU, C, …"""
    oids = {"O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "L": NameOID.LOCALITY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
            "C": NameOID.COUNTRY_NAME}
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    attrs += [x509.NameAttribute(oids[k], v) for k, v in rdns.items()]
    return x509.Name(attrs)


def general_names(sans: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for san in sans:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            out.append(x509.DNSName(san))
    return out


def make_csr(cn: str, sans: Sequence[str] = (), *, key: PrivateKey | None = None,
             key_type: str = "rsa", size: int | None = None
             ) -> tuple[x509.CertificateSigningRequest, PrivateKey]:
    """A CSR (SHA-256) with the given SANs; returns it with its private key."""
    key = key or make_key(key_type, size)
    builder = x509.CertificateSigningRequestBuilder().subject_name(name(cn))
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(general_names(sans)), critical=False)
    return builder.sign(key, hashes.SHA256()), key


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key (None when it was signed from a CSR) and the
    CA certificates above it, nearest first (``chain[-1]`` is the root)."""

    cert: x509.Certificate
    key: PrivateKey | None
    chain: tuple[x509.Certificate, ...]

    def pem(self, *, with_chain: bool = False) -> bytes:
        certs = [self.cert, *self.chain] if with_chain else [self.cert]
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@dataclass(frozen=True)
class CA:
    """A certificate authority: its certificate, key and the CAs above it."""

    cert: x509.Certificate
    key: PrivateKey
    parents: tuple[x509.Certificate, ...] = field(default=())

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """This CA's certificate then its parents, up to the root."""
        return (self.cert, *self.parents)

    @property
    def root_cert(self) -> x509.Certificate:
        return self.chain[-1]

    @classmethod
    def root(cls, cn: str = "uccerts Test Root", *, key_type: str = "ec",
             size: int | None = None, **opts: Unpack[CertOptions]) -> CA:
        """A self-signed root (SHA-1 self-signature with ``sha1=True``, always RSA)."""
        key = make_key("rsa" if opts.get("sha1") else key_type, size)
        subject = name(cn)
        opts = {"ca": True, "key_usage": CA_KU, "days": 3650, **opts}
        return cls(_build(subject, key.public_key(), subject, key, **opts), key)

    def intermediate(self, cn: str = "uccerts Test Issuing CA", *, key_type: str = "ec",
                     size: int | None = None, **opts: Unpack[CertOptions]) -> CA:
        """A subordinate CA signed by this one (pathlen 0 unless given)."""
        key = make_key(key_type, size)
        opts = {"ca": True, "pathlen": 0, "key_usage": CA_KU, "days": 1825, **opts}
        cert = _build(name(cn), key.public_key(), self.cert.subject, self.key, **opts)
        return CA(cert, key, self.chain)

    def issue(self, cn: str, *, sans: Sequence[str] | None = None, key: PrivateKey | None = None,
              key_type: str = "rsa", size: int | None = None,
              **opts: Unpack[CertOptions]) -> Issued:
        """A certificate for a new (or given) key; SANs default to the CN."""
        key = key or make_key(key_type, size)
        cert = self._leaf(name(cn), key.public_key(), [cn] if sans is None else sans, opts)
        return Issued(cert, key, self.chain)

    def sign_csr(self, csr: x509.CertificateSigningRequest, *, sans: Sequence[str] | None = None,
                 add_sans: Sequence[str] = (), drop_sans: Sequence[str] = (),
                 **opts: Unpack[CertOptions]) -> x509.Certificate:
        """What a CA returns for ``csr``: its subject and SANs, edited as asked."""
        wanted = list(sans) if sans is not None else _csr_sans(csr)
        wanted = [s for s in wanted if s not in drop_sans] + list(add_sans)
        return self._leaf(csr.subject, csr.public_key(), wanted, opts)

    def _leaf(self, subject: x509.Name, public_key: object, sans: Sequence[str],
              opts: CertOptions) -> x509.Certificate:
        rsa_key = isinstance(public_key, rsa.RSAPublicKey)
        defaults: CertOptions = {"key_usage": RSA_LEAF_KU if rsa_key else EC_LEAF_KU,
                                 "eku": WEB_EKU}
        merged: CertOptions = {**defaults, **opts}
        return _build(subject, public_key, self.cert.subject, self.key, sans=sans, **merged)


def _csr_sans(csr: x509.CertificateSigningRequest) -> list[str]:
    try:
        ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(gn.value) for gn in ext]


def _build(subject: x509.Name, public_key: object, issuer: x509.Name, issuer_key: PrivateKey,
           *, sans: Sequence[str] = (), **opts: Unpack[CertOptions]) -> x509.Certificate:
    not_before = opts.get("not_before", NOW - DAY)
    not_after = opts.get("not_after", not_before + opts.get("days", 365) * DAY)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(opts.get("serial") or x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
                       critical=False)
    )
    if opts.get("aki", True):  # older tools (OpenSSL 1.1 x509 -req) leave it out
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    if opts.get("basic_constraints", True):
        builder = builder.add_extension(
            x509.BasicConstraints(ca=opts.get("ca", False), path_length=opts.get("pathlen")),
            critical=True)
    key_usage = opts.get("key_usage")
    if key_usage is not None:
        bits = set(key_usage)
        builder = builder.add_extension(
            x509.KeyUsage(**{f: f in bits for f in _KU_FIELDS}), critical=True)
    eku = opts.get("eku")
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(general_names(sans)),
                                        critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    return _resign_sha1(cert, issuer_key) if opts.get("sha1") else cert


# --- SHA-1 by hand -------------------------------------------------------------------
# cryptography refuses to sign with SHA-1, but CAs did for years and uploads still
# meet such chains. sha256WithRSAEncryption and sha1WithRSAEncryption have OIDs of the
# same length, so swapping the OID in the to-be-signed bytes keeps every DER length.

_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _resign_sha1(cert: x509.Certificate, issuer_key: PrivateKey) -> x509.Certificate:
    if not isinstance(issuer_key, rsa.RSAPrivateKey):
        raise ValueError("SHA-1 test certificates need an RSA issuer key")
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("unexpected signature algorithm in the to-be-signed bytes")
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = _der(0x30, _SHA1_RSA + b"\x05\x00")
    der = _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


def lookup(*certs: x509.Certificate) -> Callable[[x509.Name], list[x509.Certificate]]:
    """A trust-store lookup over ``certs``: the certificates whose subject is a name."""
    def find(subject: x509.Name) -> list[x509.Certificate]:
        return [c for c in certs if c.subject == subject]
    return find
