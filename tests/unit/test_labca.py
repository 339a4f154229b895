"""The lab CA, pure: what the leaf gets from the CSR and from the sign options."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from uccerts.domain.names import sans_of
from uccerts.enroll.labca import LabCA, SignedBundle, SignOptions
from uccerts.errors import InvalidInput, UsageError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SERVER = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH
IPSEC_END_SYSTEM = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5")


def _ku(**bits: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment",
             "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
             "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: bits.get(n, False) for n in names})


@pytest.fixture(scope="module")
def ca() -> LabCA:
    return LabCA.create(now=NOW)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_csr(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cn: str = "pub.uc.example",
             sans: tuple[str, ...] = ("pub.uc.example",),
             extensions: tuple[tuple[x509.ExtensionType, bool], ...] = ()
             ) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                   x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example")]))
    names: list[x509.GeneralName] = []
    for san in sans:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            names.append(x509.DNSName(san))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    return builder.sign(key, hashes.SHA256())


def issue(ca: LabCA, csr: x509.CertificateSigningRequest, **options: object) -> x509.Certificate:
    return ca.sign(csr, SignOptions(**options), now=NOW).leaf  # type: ignore[arg-type]


def ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType:
    return cert.extensions.get_extension_for_class(kind).value


# --- the CA itself ---------------------------------------------------------------------


def test_create_makes_a_root_and_a_pathlen1_intermediate(ca: LabCA) -> None:
    # pathlen:1 leaves room for CAPF, a sub-CA that issues phone certificates.
    root_bc = ext(ca.root, x509.BasicConstraints)
    int_bc = ext(ca.intermediate, x509.BasicConstraints)
    assert isinstance(root_bc, x509.BasicConstraints) and root_bc.ca
    assert isinstance(int_bc, x509.BasicConstraints) and int_bc.ca
    assert int_bc.path_length == 1
    assert ca.root.subject == ca.root.issuer
    assert ca.intermediate.issuer == ca.root.subject
    ca.intermediate.verify_directly_issued_by(ca.root)
    root_ski = ext(ca.root, x509.SubjectKeyIdentifier)
    int_aki = ext(ca.intermediate, x509.AuthorityKeyIdentifier)
    assert isinstance(root_ski, x509.SubjectKeyIdentifier)
    assert isinstance(int_aki, x509.AuthorityKeyIdentifier)
    assert int_aki.key_identifier == root_ski.digest
    assert ext(ca.root, x509.AuthorityKeyIdentifier) is not None
    assert ext(ca.intermediate, x509.SubjectKeyIdentifier) is not None
    for cert in (ca.root, ca.intermediate):
        assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc


def test_repr_hides_the_keys(ca: LabCA) -> None:
    assert isinstance(ca.root_key, rsa.RSAPrivateKey)
    secret = format(ca.root_key.private_numbers().d, "x")
    for text in (repr(ca), str(ca)):
        assert "Root CA" in text
        assert "PrivateKey" not in text and "PRIVATE" not in text
        assert secret not in text and str(ca.root_key.private_numbers().d) not in text


def test_round_trips_through_bytes(ca: LabCA) -> None:
    root_pem, int_pem = ca.certificate_pems()
    root_key, int_key = ca.private_key_bytes()
    assert root_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    again = LabCA.from_bytes(root_pem, int_pem, root_key, int_key)
    assert again.root == ca.root and again.intermediate == ca.intermediate
    with pytest.raises(InvalidInput):
        LabCA.from_bytes(root_pem, int_pem, int_key, root_key)  # keys swapped


# --- SANs ------------------------------------------------------------------------------


def test_leaf_takes_subject_key_and_sans_of_the_csr(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    csr = make_csr(key, sans=("pub.uc.example", "sub.uc.example", "10.0.0.5"))
    leaf = issue(ca, csr)
    assert leaf.subject == csr.subject
    assert leaf.issuer == ca.intermediate.subject
    assert leaf.public_key() == key.public_key()
    assert sans_of(leaf) == ["pub.uc.example", "sub.uc.example", "10.0.0.5"]


def test_drop_and_add_sans_like_the_seeds_ca(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    csr = make_csr(key, sans=("domain.com", "sub.domain.com", "pub.domain.com", "10.0.0.5"))
    leaf = issue(ca, csr, drop_sans=("DOMAIN.com", "10.0.0.5"),
                 add_sans=("sub-ms.domain.com", "*.domain.com", "192.0.2.7"))
    assert sans_of(leaf) == ["sub.domain.com", "pub.domain.com", "sub-ms.domain.com",
                             "*.domain.com", "192.0.2.7"]


def test_add_cn_to_san_puts_the_cn_first_once(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    leaf = issue(ca, make_csr(key, cn="pub-ms.uc.example", sans=("pub.uc.example",)),
                 add_cn_to_san=True)
    assert sans_of(leaf) == ["pub-ms.uc.example", "pub.uc.example"]
    leaf = issue(ca, make_csr(key), add_cn_to_san=True)
    assert sans_of(leaf) == ["pub.uc.example"]


def test_a_csr_without_sans_gets_none(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    leaf = issue(ca, make_csr(key, sans=()))
    assert sans_of(leaf) == []


def test_bad_added_san_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as err:
        SignOptions(add_sans=("not a name",))
    assert "add_sans" in err.value.message


# --- validity --------------------------------------------------------------------------


def test_days_sets_the_validity(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    leaf = issue(ca, make_csr(key), days=30)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=30)
    assert leaf.not_valid_before_utc <= NOW


@pytest.mark.parametrize("days", [0, -1, 10**6])
def test_days_out_of_range_is_refused(days: int) -> None:
    with pytest.raises(UsageError):
        SignOptions(days=days)


def test_not_before_in_the_future_is_not_yet_valid(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    leaf = issue(ca, make_csr(key), not_before=start, days=10)
    assert leaf.not_valid_before_utc == start
    assert leaf.not_valid_after_utc == start + timedelta(days=10)
    assert leaf.not_valid_before_utc > NOW


def test_not_before_far_in_the_past_gives_an_expired_leaf(ca: LabCA,
                                                           key: rsa.RSAPrivateKey) -> None:
    leaf = issue(ca, make_csr(key), not_before=datetime(2020, 1, 1), days=1)  # naive: UTC
    assert leaf.not_valid_before_utc == datetime(2020, 1, 1, tzinfo=UTC)
    assert leaf.not_valid_after_utc < NOW


# --- key usage, extended key usage, basic constraints -----------------------------------


def test_defaults_when_the_csr_requests_no_usage(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    leaf = issue(ca, make_csr(key))
    assert list(ext(leaf, x509.ExtendedKeyUsage)) == [SERVER, CLIENT]  # type: ignore[call-overload]
    ku = ext(leaf, x509.KeyUsage)
    assert isinstance(ku, x509.KeyUsage) and ku.digital_signature and ku.key_encipherment
    bc = ext(leaf, x509.BasicConstraints)
    assert isinstance(bc, x509.BasicConstraints) and not bc.ca


def test_ec_key_default_usage_does_not_encipher(ca: LabCA) -> None:
    leaf = issue(ca, make_csr(ec.generate_private_key(ec.SECP256R1())))
    ku = ext(leaf, x509.KeyUsage)
    assert isinstance(ku, x509.KeyUsage) and ku.digital_signature and not ku.key_encipherment


def test_no_client_auth_removes_it(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    csr = make_csr(key, extensions=((x509.ExtendedKeyUsage([SERVER, CLIENT]), False),))
    leaf = issue(ca, csr, client_auth=False)
    assert list(ext(leaf, x509.ExtendedKeyUsage)) == [SERVER]  # type: ignore[call-overload]


def test_ku_and_eku_are_copied_from_the_csr(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    ku = _ku(digital_signature=True, key_encipherment=True, data_encipherment=True)
    eku = x509.ExtendedKeyUsage([SERVER, CLIENT, IPSEC_END_SYSTEM])
    leaf = issue(ca, make_csr(key, extensions=((ku, True), (eku, False))))
    assert ext(leaf, x509.KeyUsage) == ku
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).critical
    assert ext(leaf, x509.ExtendedKeyUsage) == eku


def test_capf_csr_gets_ca_true_pathlen0(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    ku = _ku(digital_signature=True, key_cert_sign=True)
    bc = x509.BasicConstraints(ca=True, path_length=0)
    leaf = issue(ca, make_csr(key, extensions=((ku, True), (bc, True))))
    got = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert got.value == bc and got.critical
    assert ext(leaf, x509.KeyUsage) == ku


# --- the chain -------------------------------------------------------------------------


def test_chain_verifies_to_the_root(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    bundle = ca.sign(make_csr(key, sans=("pub.uc.example", "10.0.0.5")), SignOptions(),
                     now=NOW)
    policy = verification.PolicyBuilder().store(verification.Store([ca.root])).time(NOW)
    server = policy.build_server_verifier(x509.DNSName("pub.uc.example"))
    chain = server.verify(bundle.leaf, [bundle.intermediate])
    assert chain == [bundle.leaf, bundle.intermediate, ca.root]
    policy.build_server_verifier(
        x509.IPAddress(ipaddress.ip_address("10.0.0.5"))
    ).verify(bundle.leaf, [bundle.intermediate])
    client = policy.build_client_verifier().verify(bundle.leaf, [bundle.intermediate])
    assert client.chain[-1] == ca.root


def test_a_leaf_without_client_auth_fails_client_verification(
        ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    bundle = ca.sign(make_csr(key), SignOptions(client_auth=False), now=NOW)
    policy = verification.PolicyBuilder().store(verification.Store([ca.root])).time(NOW)
    with pytest.raises(verification.VerificationError):
        policy.build_client_verifier().verify(bundle.leaf, [bundle.intermediate])


def test_bundle_serialises_leaf_first(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    bundle = ca.sign(make_csr(key), SignOptions(), now=NOW)
    assert isinstance(bundle, SignedBundle)
    # PKCS#7 holds a SET of certificates: DER sorts it, so only membership is kept.
    assert set(pkcs7.load_der_pkcs7_certificates(bundle.p7b_der())) == set(bundle.chain)
    assert x509.load_pem_x509_certificates(bundle.chain_pem()) == [
        bundle.leaf, bundle.intermediate, bundle.root]


# --- refusals --------------------------------------------------------------------------


def test_tampered_csr_is_refused(ca: LabCA, key: rsa.RSAPrivateKey) -> None:
    der = make_csr(key).public_bytes(serialization.Encoding.DER)
    tampered = x509.load_der_x509_csr(der.replace(b"pub.uc.example", b"evil.example.x"))
    with pytest.raises(InvalidInput) as err:
        ca.sign(tampered, SignOptions(), now=NOW)
    assert err.value.code == "csr-signature-invalid"
