"""The lab CA: a whole two-tier certificate authority in one module.

It plays the enterprise CA that administrators send their CSRs to, for demos, tests
and training, and it can make the mistakes real CAs make (cli.md "Lab CA"):

- add or drop SANs (the seed's CA added ``sub-ms.domain.com`` and ``*.domain.com``),
  or copy the CN into the SANs;
- leave out clientAuth (a web-server template without the client EKU);
- issue a leaf that is not yet valid, or already expired.

Like a Microsoft CA with a web server template, it copies the key usage, extended
key usage and basic constraints the CSR requests, so a CAPF CSR asking for
``CA:TRUE, pathlen:0`` gets it. It does not shorten a leaf to the issuer's validity:
the lab CA does what it is asked, and the upload checks must notice the result.

The intermediate has ``pathlen:1``: room for one sub-CA below it, as CAPF is (it
issues the phones' certificates).

Pure: no files, no clock (``now`` is passed in), no settings. The private keys leave
this module only as PKCS#8 DER bytes, for the caller to seal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from uccerts.domain import codec
from uccerts.domain.keys import PrivateKey, same_public_key
from uccerts.domain.names import San, is_fqdn
from uccerts.errors import InvalidInput, UsageError

CA_KEY_BITS = 2048
# Backdating absorbs clock skew between the CA and whoever checks its certificates.
CA_BACKDATE = timedelta(days=1)
LEAF_BACKDATE = timedelta(minutes=5)
ROOT_LIFETIME = timedelta(days=20 * 365)
INTERMEDIATE_LIFETIME = timedelta(days=10 * 365)
MAX_DAYS = 100 * 365

E = TypeVar("E", bound=x509.ExtensionType)


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, as cryptography itself does."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_added_san(text: str) -> None:
    san = San.parse(text)
    host = san.value.removeprefix("*.")
    if san.kind == "dns" and not is_fqdn(host):
        raise UsageError(f"add_sans: '{text}' is neither a host name nor an IP address",
                         code="invalid-name",
                         fix="Give a DNS name such as pub.uc.example (or *.uc.example) "
                             "or an IP address")


@dataclass(frozen=True)
class SignOptions:
    """How the lab CA treats a CSR; the defaults issue exactly what was asked for."""

    add_sans: tuple[str, ...] = ()
    drop_sans: tuple[str, ...] = ()
    add_cn_to_san: bool = False
    days: int = 365
    not_before: datetime | None = None
    client_auth: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.days <= MAX_DAYS:
            raise UsageError(f"days: {self.days} is out of range", code="invalid-days",
                             fix=f"Give a number of days from 1 to {MAX_DAYS}")
        for name in self.add_sans:
            _check_added_san(name)
        object.__setattr__(self, "add_sans", tuple(self.add_sans))
        object.__setattr__(self, "drop_sans", tuple(self.drop_sans))
        if self.not_before is not None:
            object.__setattr__(self, "not_before", _utc(self.not_before))


@dataclass(frozen=True)
class SignedBundle:
    """What the CA hands back: the leaf and the chain above it."""

    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate

    @property
    def chain(self) -> list[x509.Certificate]:
        """Leaf first, root last: the order of a TLS chain and of ``chain.p7b``."""
        return [self.leaf, self.intermediate, self.root]

    def chain_pem(self) -> bytes:
        return codec.certificates_pem(self.chain).encode("ascii")

    def p7b_der(self) -> bytes:
        """The three certificates as PKCS#7 (a SET: readers see them in DER order)."""
        return codec.pkcs7_der(self.chain)


@dataclass(frozen=True)
class LabCA:
    """A root and an issuing intermediate with their keys (kept out of ``repr``)."""

    root: x509.Certificate
    intermediate: x509.Certificate
    root_key: PrivateKey = field(repr=False, compare=False)
    intermediate_key: PrivateKey = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return (f"LabCA(root={self.root.subject.rfc4514_string()!r}, "
                f"intermediate={self.intermediate.subject.rfc4514_string()!r})")

    # --- making one ---------------------------------------------------------------

    @classmethod
    def create(cls, *, now: datetime, name: str = "uccerts Lab") -> LabCA:
        start = _utc(now) - CA_BACKDATE
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
        root_name = _ca_name(f"{name} Root CA", name)
        root = _ca_certificate(root_name, root_key, root_name, root_key,
                               start, start + ROOT_LIFETIME, path_length=None)
        int_key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
        intermediate = _ca_certificate(_ca_name(f"{name} Issuing CA", name), int_key,
                                       root_name, root_key,
                                       start, start + INTERMEDIATE_LIFETIME, path_length=1)
        return cls(root, intermediate, root_key, int_key)

    # --- signing ------------------------------------------------------------------

    def sign(self, csr: x509.CertificateSigningRequest, options: SignOptions, *,
             now: datetime) -> SignedBundle:
        """Issue a leaf for ``csr`` from the intermediate, shaped by ``options``."""
        requested = _requested_extensions(csr)
        not_before = options.not_before or (_utc(now) - LEAF_BACKDATE)
        public_key = csr.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.intermediate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + timedelta(days=options.days))
            .add_extension(*_basic_constraints(requested))
            .add_extension(*_key_usage(requested, public_key))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
            .add_extension(_aki(self.intermediate), False)
        )
        eku = _extended_key_usage(requested, options.client_auth)
        if eku is not None:
            builder = builder.add_extension(eku, False)
        sans = _leaf_sans(csr, options)
        if sans:
            # RFC 5280 §4.2.1.6: critical when the subject is empty.
            builder = builder.add_extension(x509.SubjectAlternativeName(sans),
                                            critical=len(csr.subject) == 0)
        leaf = builder.sign(self.intermediate_key, hashes.SHA256())
        return SignedBundle(self.root, self.intermediate, leaf)

    # --- serialisation ------------------------------------------------------------

    def certificate_pems(self) -> tuple[bytes, bytes]:
        """(root PEM, intermediate PEM)."""
        return (codec.certificate_pem(self.root).encode("ascii"),
                codec.certificate_pem(self.intermediate).encode("ascii"))

    def private_key_bytes(self) -> tuple[bytes, bytes]:
        """(root key, intermediate key) as unencrypted PKCS#8 DER: seal before storing."""
        return _key_der(self.root_key), _key_der(self.intermediate_key)

    @classmethod
    def from_bytes(cls, root_pem: bytes, intermediate_pem: bytes, root_key: bytes,
                   intermediate_key: bytes) -> LabCA:
        """Rebuild a CA from what ``certificate_pems`` and ``private_key_bytes`` gave."""
        root = _one_certificate(root_pem, "root")
        intermediate = _one_certificate(intermediate_pem, "intermediate")
        r_key = _private_key(root_key, root, "root")
        i_key = _private_key(intermediate_key, intermediate, "intermediate")
        try:
            intermediate.verify_directly_issued_by(root)
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise InvalidInput("The lab CA intermediate was not issued by its root",
                               code="invalid-lab-ca") from exc
        return cls(root, intermediate, r_key, i_key)


# --- CA certificates -------------------------------------------------------------------


def _ca_name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


def _ca_certificate(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name,
                    issuer_key: rsa.RSAPrivateKey, start: datetime, end: datetime, *,
                    path_length: int | None) -> x509.Certificate:
    ca_usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
        .add_extension(ca_usage, True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            False)
        .sign(issuer_key, hashes.SHA256())
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


# --- what the leaf gets from the CSR -----------------------------------------------------


def _requested_extensions(csr: x509.CertificateSigningRequest) -> x509.Extensions:
    """The CSR's extensionRequest, after checking that the CSR is intact."""
    try:
        intact = csr.is_signature_valid
        requested = csr.extensions
        csr.public_key()
    except Exception as exc:  # cryptography raises several types for odd encodings
        raise InvalidInput("The certificate signing request cannot be read",
                           code="invalid-csr", detail=str(exc),
                           fix="Send the CSR exactly as it was generated") from exc
    if not intact:
        raise InvalidInput("The CSR signature is not valid: the request was altered",
                           code="csr-signature-invalid",
                           fix="Generate the CSR again and send it unmodified")
    return requested


def _requested(requested: x509.Extensions, kind: type[E]) -> x509.Extension[E] | None:
    try:
        return requested.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _basic_constraints(requested: x509.Extensions) -> tuple[x509.ExtensionType, bool]:
    ext = _requested(requested, x509.BasicConstraints)
    if ext is not None:
        return ext.value, ext.critical
    return x509.BasicConstraints(ca=False, path_length=None), True


def _key_usage(requested: x509.Extensions, public_key: object
               ) -> tuple[x509.ExtensionType, bool]:
    ext = _requested(requested, x509.KeyUsage)
    if ext is not None:
        return ext.value, ext.critical
    # The web server template's default; only RSA keys can encipher.
    rsa_key = isinstance(public_key, rsa.RSAPublicKey)
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=rsa_key,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    ), True


def _extended_key_usage(requested: x509.Extensions, client_auth: bool
                        ) -> x509.ExtendedKeyUsage | None:
    ext = _requested(requested, x509.ExtendedKeyUsage)
    if ext is not None:
        usages = list(ext.value)
    else:
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    if not client_auth:
        usages = [u for u in usages if u != ExtendedKeyUsageOID.CLIENT_AUTH]
    # An empty EKU is not valid DER; no extension at all is the closest honest result.
    return x509.ExtendedKeyUsage(usages) if usages else None


def _leaf_sans(csr: x509.CertificateSigningRequest, options: SignOptions
               ) -> list[x509.GeneralName]:
    """The CSR's SANs, then the CN, minus the dropped names, plus the added ones."""
    ext = _requested(csr.extensions, x509.SubjectAlternativeName)
    names: list[x509.GeneralName] = list(ext.value) if ext is not None else []
    if options.add_cn_to_san:
        cn = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cn and isinstance(cn[0].value, str):
            names.insert(0, San.parse(cn[0].value).to_general_name())
    drop = {San.parse(n) for n in options.drop_sans}
    names = [gn for gn in names if _san_of(gn) not in drop]
    names.extend(San.parse(n).to_general_name() for n in options.add_sans)
    return _unique(names)


def _san_of(gn: x509.GeneralName) -> San | None:
    if isinstance(gn, x509.DNSName | x509.IPAddress):
        return San.parse(str(gn.value))
    return None  # other kinds (e-mail, URI) pass through untouched


def _unique(names: list[x509.GeneralName]) -> list[x509.GeneralName]:
    seen: set[San] = set()
    out: list[x509.GeneralName] = []
    for gn in names:
        key = _san_of(gn)
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        out.append(gn)
    return out


# --- serialisation helpers -------------------------------------------------------------


def _key_der(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _one_certificate(data: bytes, what: str) -> x509.Certificate:
    certs = codec.load_certificates(data)
    if len(certs) != 1:
        raise InvalidInput(f"The lab CA {what} file holds {len(certs)} certificates",
                           code="invalid-lab-ca")
    return certs[0]


def _private_key(data: bytes, cert: x509.Certificate, what: str) -> PrivateKey:
    # The bytes were sealed with AES-GCM when the CA was made from keys this code
    # generated: they are authentic, so the slow RSA self-check (~40 ms a key, paid
    # on every signing) is skipped. The match with the certificate is still checked.
    try:
        key = serialization.load_der_private_key(data, password=None,
                                                 unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = codec.load_private_key(data)  # not DER: the codec names the problem
    if not isinstance(key, rsa.RSAPrivateKey) or not same_public_key(
            key.public_key(), cert.public_key()):
        raise InvalidInput(f"The lab CA {what} key does not match its certificate",
                           code="invalid-lab-ca")
    return key
