"""inspect: decode summaries and match verdicts on real certificates, CSRs and keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from uccerts.domain import inspect
from uccerts.errors import InvalidInput

NOW = dt.datetime(2026, 6, 1, 12, 30, 5, tzinfo=dt.UTC)
DER = serialization.Encoding.DER
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

CERT_KEYS = {"kind", "subject", "rdns", "key_type", "key_size", "sha1", "md5", "sans",
             "public_key_sha256", "issuer", "not_before", "not_after", "serial_hex",
             "serial_decimal", "is_ca"}
CSR_KEYS = {"kind", "subject", "rdns", "key_type", "key_size", "sha1", "md5", "sans",
            "public_key_sha256"}


def seed_subject(cn: str = "pub-ms.domain.com", **over: str) -> x509.Name:
    """The seed's subject, in the DER order CUCM writes (C first, CN last)."""
    values = {"C": "MX", "ST": "CDMX", "L": "CUCM", "O": "Cisco", "OU": "Collaboration",
              "CN": cn, **over}
    oids = {"C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
            "L": NameOID.LOCALITY_NAME, "O": NameOID.ORGANIZATION_NAME,
            "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in values.items()])


COLLAB_CA = x509.Name([
    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "mx"),
    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "collab"),
    x509.NameAttribute(NameOID.COMMON_NAME, "Collab CA"),
])


def sans(*names: str) -> x509.SubjectAlternativeName:
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(out)


def certificate(key: Key, subject: x509.Name, *, issuer: x509.Name | None = None,
                signer: Key | None = None, names: tuple[str, ...] = (),
                serial: int = 0x69_0000_002D, ca: bool | None = False) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer or subject).public_key(key.public_key())
               .serial_number(serial).not_valid_before(NOW)
               .not_valid_after(NOW + dt.timedelta(days=730)))
    if names:
        builder = builder.add_extension(sans(*names), critical=False)
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                        critical=True)
    signing = signer or key
    algorithm = None if isinstance(signing, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signing, algorithm)


def csr(key: Key, subject: x509.Name, names: tuple[str, ...] = ()
        ) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if names:
        builder = builder.add_extension(sans(*names), critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def colon(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def spki_sha256(key: Key) -> str:
    spki = key.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


# --------------------------------------------------------------------------- summaries


def test_rsa_certificate_summary_as_in_the_seed(rsa_key: rsa.RSAPrivateKey) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate(rsa_key, seed_subject(), issuer=COLLAB_CA, signer=ca_key,
                       names=("sub-ms.domain.com", "domain.com", "*.domain.com"))
    s = inspect.summarize_certificate(cert)
    assert s.rdns == {"CN": "pub-ms.domain.com", "OU": "Collaboration", "O": "Cisco",
                      "L": "CUCM", "ST": "CDMX", "C": "MX"}
    assert s.subject == ("CN = pub-ms.domain.com, OU = Collaboration, O = Cisco, "
                         "L = CUCM, ST = CDMX, C = MX")
    assert s.issuer == "CN = Collab CA, DC = collab, DC = mx"
    assert (s.key_type, s.key_size) == ("RSA", 2048)
    der = cert.public_bytes(DER)
    assert s.sha1 == colon(hashlib.sha1(der).digest())
    assert s.md5 == colon(hashlib.md5(der).digest())
    assert s.sans == ("sub-ms.domain.com", "domain.com", "*.domain.com")
    assert s.public_key_sha256 == spki_sha256(rsa_key)
    assert not s.is_ca

    doc = s.to_dict()
    assert set(doc) == CERT_KEYS
    assert doc["kind"] == "certificate"
    assert doc["not_before"] == "2026-06-01T12:30:05Z"
    assert doc["not_after"] == "2028-05-31T12:30:05Z"
    assert doc["serial_hex"] == "690000002D"
    assert doc["serial_decimal"] == str(0x69_0000_002D)
    assert doc["sans"] == ["sub-ms.domain.com", "domain.com", "*.domain.com"]
    assert re.fullmatch(r"([0-9A-F]{2}:){19}[0-9A-F]{2}", str(doc["sha1"]))
    assert re.fullmatch(r"([0-9A-F]{2}:){15}[0-9A-F]{2}", str(doc["md5"]))


def test_certificate_text(rsa_key: rsa.RSAPrivateKey) -> None:
    cert = certificate(rsa_key, seed_subject(), names=("pub.uc.example", "10.0.0.1"),
                       serial=0x8A01)
    text = inspect.render_text(inspect.summarize_certificate(cert))
    lines = text.splitlines()
    assert lines[0] == "Certificate Summary"
    assert "  Common Name (CN): pub-ms.domain.com" in lines
    assert "  Country (C): MX" in lines
    assert ("  Subject: CN = pub-ms.domain.com, OU = Collaboration, O = Cisco, L = CUCM, "
            "ST = CDMX, C = MX") in lines
    assert "  Serial Number: 8A:01 (35329)" in lines
    assert "  CA cert: No" in lines
    assert "  Key Size: 2048 bits" in lines
    assert "  SANs: pub.uc.example, 10.0.0.1" in lines
    assert "  Valid From: 01 Jun 2026, 12:30:05 UTC" in lines
    assert any(line.startswith("  Fingerprint (SHA-1): ") for line in lines)
    assert any(line.startswith("  Fingerprint (MD5): ") for line in lines)
    assert "PRIVATE" not in text


def test_ec_csr_summary_and_text(ec_key: ec.EllipticCurvePrivateKey) -> None:
    request = csr(ec_key, seed_subject("pub.uc.example"),
                  ("pub.uc.example", "sub.uc.example", "2001:db8::1"))
    s = inspect.summarize_csr(request)
    doc = s.to_dict()
    assert set(doc) == CSR_KEYS
    assert doc["kind"] == "csr"
    assert (s.key_type, s.key_size) == ("EC", 256)
    assert s.sans == ("pub.uc.example", "sub.uc.example", "2001:db8::1")
    assert s.sha1 == colon(hashlib.sha1(request.public_bytes(DER)).digest())
    text = inspect.render_text(s)
    assert text.startswith("CSR Summary\n")
    assert "CA cert" not in text and "Issuer" not in text
    assert "  Key Size: 256 bits" in text.splitlines()


def test_utf8_subject_values(ec_key: ec.EllipticCurvePrivateKey) -> None:
    subject = seed_subject("pub.uc.example", O="Société Générale", L="Zürich", ST="東京都")
    s = inspect.summarize_certificate(certificate(ec_key, subject))
    assert s.rdns["O"] == "Société Générale"
    assert "L = Zürich, ST = 東京都" in s.subject
    assert "  Organization (O): Société Générale" in inspect.render_text(s).splitlines()


def test_missing_rdns_are_empty_and_left_out_of_the_line(
        ec_key: ec.EllipticCurvePrivateKey) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cucm-pub")])
    s = inspect.summarize_csr(csr(ec_key, subject))
    assert s.subject == "CN = cucm-pub"
    assert s.rdns == {"CN": "cucm-pub", "OU": "", "O": "", "L": "", "ST": "", "C": ""}
    assert s.sans == ()
    assert "  SANs: (none)" in inspect.render_text(s).splitlines()


def test_ca_flag_and_other_key_types() -> None:
    root_key = ed25519.Ed25519PrivateKey.generate()
    root = certificate(root_key, COLLAB_CA, ca=True)
    s = inspect.summarize_certificate(root)
    assert s.is_ca and (s.key_type, s.key_size) == ("Ed25519", 256)
    assert "  CA cert: Yes" in inspect.render_text(s).splitlines()
    no_bc = certificate(ec.generate_private_key(ec.SECP384R1()), COLLAB_CA, ca=None)
    s = inspect.summarize_certificate(no_bc)
    assert not s.is_ca and (s.key_type, s.key_size) == ("EC", 384)


def test_serial_formats() -> None:
    assert inspect.serial_bytes(0) == b"\x00"
    assert inspect.colon_hex(inspect.serial_bytes(0x690000002D)) == "69:00:00:00:2D"
    assert inspect.iso_utc(dt.datetime(2027, 1, 31, 7, 0, tzinfo=dt.timezone(
        dt.timedelta(hours=-5)))) == "2027-01-31T12:00:00Z"


# --------------------------------------------------------------------------- matching


def test_certificate_and_key(rsa_key: rsa.RSAPrivateKey,
                             ec_key: ec.EllipticCurvePrivateKey) -> None:
    cert = certificate(rsa_key, seed_subject())
    good = inspect.match_certificate_key(cert, rsa_key)
    assert good.match
    assert good.verdict == "The certificate and private key match!"
    assert good.to_dict() == {"match": True, "certificate_hash": spki_sha256(rsa_key),
                              "key_hash": spki_sha256(rsa_key)}
    assert re.fullmatch(r"[0-9a-f]{64}", good.certificate_hash)
    bad = inspect.match_certificate_key(cert, ec_key)
    assert not bad.match
    assert bad.verdict == "The certificate and private key do NOT match!"
    assert bad.to_dict()["key_hash"] == spki_sha256(ec_key)
    assert bad.render_hashes() == (f"Certificate Hash: {spki_sha256(rsa_key)}\n"
                                   f"Key Hash: {spki_sha256(ec_key)}")


def test_certificate_and_csr(rsa_key: rsa.RSAPrivateKey,
                             ec_key: ec.EllipticCurvePrivateKey) -> None:
    cert = certificate(ec_key, seed_subject())
    good = inspect.match_certificate_csr(cert, csr(ec_key, seed_subject()))
    assert good.match and good.verdict == "The certificate and CSR match!"
    assert set(good.to_dict()) == {"match", "certificate_hash", "csr_hash"}
    bad = inspect.match_certificate_csr(cert, csr(rsa_key, seed_subject()))
    assert not bad.match and bad.verdict == "The certificate and CSR do NOT match!"
    assert bad.render_hashes().splitlines()[1] == f"CSR Hash: {spki_sha256(rsa_key)}"


def test_leaf_of_a_chain_in_any_order(ec_key: ec.EllipticCurvePrivateKey) -> None:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = certificate(root_key, COLLAB_CA, ca=True)
    leaf = certificate(ec_key, seed_subject(), issuer=COLLAB_CA, signer=root_key)
    assert inspect.leaf_of([root, leaf]) == leaf
    assert inspect.leaf_of([leaf, root]) == leaf
    assert inspect.leaf_of([root]) == root
    with pytest.raises(InvalidInput):
        inspect.leaf_of([])
