"""codec: every form a CA hands out loads; everything else is InvalidInput, never a crash."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uccerts.domain import codec
from uccerts.errors import InvalidInput

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@functools.cache
def _ec_key(n: int = 0) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _cert(cn: str = "pub.uc.example", n: int = 0) -> x509.Certificate:
    key = _ec_key(n)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(1000 + n)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )


@functools.cache
def _csr() -> x509.CertificateSigningRequest:
    return (x509.CertificateSigningRequestBuilder().subject_name(_name("pub.uc.example"))
            .sign(_ec_key(), hashes.SHA256()))


def _key_bytes(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
               encoding: serialization.Encoding = PEM,
               fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    return key.private_bytes(encoding, fmt, serialization.NoEncryption())


def _detail(data: bytes) -> str:
    with pytest.raises(InvalidInput) as info:
        codec.load_certificates(data)
    assert info.value.code == codec.INVALID_FILE
    assert info.value.message == codec.INVALID_FILE_MESSAGE
    return info.value.detail


# --------------------------------------------------------------------------- round trips


def test_pem_single_and_bundle_round_trip() -> None:
    one, two = _cert("a.uc.example", 1), _cert("b.uc.example", 2)
    assert codec.load_certificates(codec.certificate_pem(one).encode()) == [one]
    bundle = codec.certificates_pem([one, two]).encode()
    assert codec.load_certificates(bundle) == [one, two]


def test_der_round_trip() -> None:
    cert = _cert()
    assert codec.load_certificates(codec.certificate_der(cert)) == [cert]


@pytest.mark.parametrize("encode", [codec.pkcs7_der, codec.pkcs7_pem])
def test_pkcs7_round_trip(encode: Callable[[list[x509.Certificate]], bytes]) -> None:
    certs = [_cert("a.uc.example", 1), _cert("b.uc.example", 2)]
    data = encode(certs)
    assert set(codec.load_certificates(data)) == set(certs)


def test_ber_pkcs7_with_indefinite_length_loads_quietly() -> None:
    # Windows CAs hand out BER .p7b files; cryptography warns on BER (an error here).
    cert = _cert()
    der = codec.pkcs7_der([cert])
    header = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    ber = b"\x30\x80" + der[header:] + b"\x00\x00"
    assert codec.load_certificates(ber) == [cert]


def test_crlf_indentation_and_text_between_blocks() -> None:
    one, two = _cert("a.uc.example", 1), _cert("b.uc.example", 2)
    pem1 = codec.certificate_pem(one).replace("\n", "\r\n")
    pem2 = "\n".join("   " + line + " \t" for line in codec.certificate_pem(two).splitlines())
    data = f"Bag Attributes\r\n    friendlyName: tomcat\r\n{pem1}\r\n\r\nsubject=CN = b\n{pem2}\n"
    assert codec.load_certificates(data.encode()) == [one, two]


def test_pem_flattened_onto_one_line() -> None:
    cert = _cert()
    flat = " ".join(codec.certificate_pem(cert).splitlines())
    assert codec.load_certificates(flat.encode()) == [cert]


def test_trusted_certificate_with_openssl_aux_data() -> None:
    import base64

    cert = _cert()
    body = base64.encodebytes(codec.certificate_der(cert) + b"\x30\x00").decode()
    data = f"-----BEGIN TRUSTED CERTIFICATE-----\n{body}-----END TRUSTED CERTIFICATE-----\n"
    assert codec.load_certificates(data.encode()) == [cert]


def test_csr_round_trip_pem_and_der() -> None:
    csr = _csr()
    assert codec.load_csr(codec.csr_pem(csr).encode()) == csr
    assert codec.load_csr(csr.public_bytes(DER)) == csr


@pytest.mark.parametrize("fmt", [serialization.PrivateFormat.PKCS8,
                                 serialization.PrivateFormat.TraditionalOpenSSL])
@pytest.mark.parametrize("encoding", [PEM, DER])
def test_private_key_forms(fmt: serialization.PrivateFormat,
                           encoding: serialization.Encoding) -> None:
    key = _ec_key()
    loaded = codec.load_private_key(_key_bytes(key, encoding, fmt))
    assert loaded.public_key() == key.public_key()


def test_private_key_found_next_to_a_certificate() -> None:
    data = codec.certificate_pem(_cert()).encode() + _key_bytes(_ec_key())
    assert codec.load_private_key(data).public_key() == _ec_key().public_key()


def test_encrypted_private_key_is_refused_without_leaking_it() -> None:
    pem = _ec_key().private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(InvalidInput) as info:
        codec.load_private_key(pem)
    assert info.value.code == "invalid-key"
    assert "encrypted" in info.value.detail
    assert "BEGIN" not in str(info.value.to_dict())


def test_sniff_and_mixed_loader() -> None:
    cert_pem = codec.certificate_pem(_cert()).encode()
    csr_pem = codec.csr_pem(_csr()).encode()
    assert codec.sniff(cert_pem) == "certificate"
    assert codec.sniff(csr_pem) == "csr"
    assert codec.sniff(_key_bytes(_ec_key())) == "key"
    assert codec.sniff(b"hello") == "unknown"
    assert codec.load_certificates_or_csr(cert_pem) == [_cert()]
    assert codec.load_certificates_or_csr(_csr().public_bytes(DER)) == _csr()


# --------------------------------------------------------------------------- what it is


def test_private_key_where_a_certificate_is_expected() -> None:
    for data in (_key_bytes(_ec_key()), _key_bytes(_rsa_key()),
                 _key_bytes(_ec_key(), DER),
                 _key_bytes(_rsa_key(), PEM, serialization.PrivateFormat.TraditionalOpenSSL)):
        assert _detail(data) == "the file contains a private key, not a certificate"
    mixed = codec.certificate_pem(_cert()).encode() + _key_bytes(_ec_key())
    assert "private key next to the certificates" in _detail(mixed)


def test_csr_where_a_certificate_is_expected() -> None:
    assert "certificate signing request" in _detail(codec.csr_pem(_csr()).encode())
    assert "certificate signing request" in _detail(_csr().public_bytes(DER))


def test_certificate_or_key_where_a_csr_is_expected() -> None:
    for data, word in ((codec.certificate_pem(_cert()).encode(), "certificate"),
                       (codec.certificate_der(_cert()), "certificate"),
                       (_key_bytes(_ec_key()), "private key")):
        with pytest.raises(InvalidInput) as info:
            codec.load_csr(data)
        assert info.value.code == "invalid-csr"
        assert word in info.value.detail


def test_empty_and_whitespace() -> None:
    assert _detail(b"") == "the file is empty"
    assert _detail(b" \r\n\t ") == "the file is empty"


def test_too_large() -> None:
    data = codec.certificate_pem(_cert()).encode()
    huge = data * (codec.MAX_FILE_BYTES // len(data) + 1)
    assert "too large" in _detail(huge)
    assert codec.sniff(huge) == "unknown"


def test_truncated_pem_and_der() -> None:
    pem = codec.certificate_pem(_cert()).encode()
    assert "truncated" in _detail(pem[: len(pem) // 2])
    assert "truncated" in _detail(pem.replace(b"-----BEGIN CERTIFICATE-----", b""))
    der = codec.certificate_der(_cert())
    assert "truncated DER" in _detail(der[:-10])


def test_damaged_base64_and_mismatched_markers() -> None:
    pem = codec.certificate_pem(_cert())
    lines = pem.splitlines()
    lines[3] = "!!!!" + lines[3][4:]
    assert "not valid base64" in _detail("\n".join(lines).encode())
    assert "ends as" in _detail(pem.replace("END CERTIFICATE", "END PKCS7").encode())


def test_text_binary_and_headerless_base64() -> None:
    assert "text without any" in _detail(b"hello, this is not a certificate\n")
    assert "binary data" in _detail(b"\xff\xfe\x00\x01junk\x80\x81")
    import base64

    naked = base64.encodebytes(codec.certificate_der(_cert()))
    assert "base64 without" in _detail(naked)


def test_pem_with_only_other_blocks() -> None:
    data = b"-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"
    assert "holds no certificate" in _detail(data)


def test_pkcs7_that_is_not_signed_data() -> None:
    # ContentInfo { id-data } : a PKCS#7 envelope with no certificate set at all.
    data = bytes.fromhex("300b06092a864886f70d010701")
    assert "PKCS#7" in _detail(data)


def test_zero_serial_is_refused_without_a_warning() -> None:
    # cryptography warns on load and on every read of such a serial (pytest turns that
    # into an error here): the codec refuses it cleanly instead.
    key = _ec_key()
    der = (x509.CertificateBuilder().subject_name(_name("old")).issuer_name(_name("old"))
           .public_key(key.public_key()).serial_number(1)
           .not_valid_before(NOW).not_valid_after(NOW).sign(key, hashes.SHA256())
           .public_bytes(DER))
    zero = der.replace(bytes([2, 1, 1]), bytes([2, 1, 0]), 1)
    assert "serial number is zero or negative" in _detail(zero)


# --------------------------------------------------------------------------- properties


def _only_invalid_input(data: bytes) -> None:
    """Every loader either succeeds or raises InvalidInput; sniff never raises."""
    for loader in (codec.load_certificates, codec.load_csr, codec.load_private_key,
                   codec.load_certificates_or_csr):
        try:
            loader(data)
        except InvalidInput as err:
            assert err.code in (codec.INVALID_FILE, "invalid-csr", "invalid-key")
            assert err.detail
    assert codec.sniff(data) in ("certificate", "csr", "key", "unknown")


@PROPERTY
@given(st.binary(max_size=4096))
def test_random_bytes_are_invalid_input(data: bytes) -> None:
    _only_invalid_input(data)


@PROPERTY
@given(st.binary(min_size=1, max_size=2048).filter(lambda b: not _is_utf8(b)))
def test_non_utf8_bytes_are_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        codec.load_certificates(data)
    _only_invalid_input(data)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _samples() -> list[bytes]:
    cert = _cert()
    return [
        codec.certificate_pem(cert).encode(),
        codec.certificate_der(cert),
        codec.pkcs7_der([cert, _cert("b.uc.example", 2)]),
        codec.pkcs7_pem([cert]),
        codec.csr_pem(_csr()).encode(),
        _key_bytes(_ec_key()),
        _key_bytes(_ec_key(), DER),
    ]


@PROPERTY
@given(st.sampled_from(range(7)), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_truncated_files_are_invalid_input(which: int, fraction: float) -> None:
    data = _samples()[which]
    cut = data[: int(len(data) * fraction)]
    _only_invalid_input(cut)
    if which in (1, 2, 6):  # DER forms: any strict prefix is refused
        with pytest.raises(InvalidInput):
            codec.load_certificates(cut)


@PROPERTY
@given(st.sampled_from(range(7)), st.data())
def test_mutated_files_are_invalid_input(which: int, data: st.DataObject) -> None:
    original = bytearray(_samples()[which])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(original) - 1))
        original[pos] = data.draw(st.integers(0, 255))
    _only_invalid_input(bytes(original))


@PROPERTY
@given(st.lists(st.sampled_from(["-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----",
                                 "-----BEGIN PKCS7-----", "MIIB", "\r\n", " ", "====",
                                 "-----END PKCS7-----", "Proc-Type: 4,ENCRYPTED"]),
                max_size=30))
def test_marker_soup_is_invalid_input(parts: list[str]) -> None:
    _only_invalid_input("".join(parts).encode())


def test_many_unclosed_begin_lines_are_fast() -> None:
    # A backtracking regex would be quadratic here; the marker scan is linear.
    data = b"-----BEGIN CERTIFICATE-----\n" * (codec.MAX_FILE_BYTES // 30)
    assert "truncated" in _detail(data)


def test_a_certificate_whose_subject_is_damaged_is_refused_at_load() -> None:
    # cryptography parses names lazily: the damage must surface at load, not later in
    # a check (found by the upload-path property test).
    from pki import CA

    leaf = CA.root("Damage Root").issue("damaged.uc.example").cert
    der = bytearray(leaf.public_bytes(serialization.Encoding.DER))
    subject = leaf.subject.public_bytes()
    at = bytes(der).rfind(subject)
    der[at] = 0x34  # a constructed tag that is not a SEQUENCE
    with pytest.raises(InvalidInput) as err:
        codec.load_certificates(bytes(der))
    assert err.value.code == "invalid-certificate-file"


def _self_signed_with(extensions: list[x509.ExtensionType]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name("odd")).issuer_name(_name("odd"))
               .public_key(key.public_key()).serial_number(7)
               .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=9)))
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(DER)


def test_a_duplicated_extension_is_an_invalid_file() -> None:
    one, two = x509.ObjectIdentifier("1.2.3.4"), x509.ObjectIdentifier("1.2.3.5")
    der = _self_signed_with([x509.UnrecognizedExtension(one, b"\x05\x00"),
                             x509.UnrecognizedExtension(two, b"\x05\x00")])
    der = der.replace(b"\x06\x03\x2a\x03\x05", b"\x06\x03\x2a\x03\x04")  # now twice 1.2.3.4
    with pytest.raises(InvalidInput) as err:
        codec.load_certificates(der)
    assert err.value.code == "invalid-certificate-file"


@pytest.mark.parametrize("general_name", [
    b"\xa5\x05\xa1\x03\x0c\x01x",  # ediPartyName
    b"\xa3\x02\x30\x00",  # x400Address
])
def test_a_san_of_a_kind_cryptography_cannot_read_is_an_invalid_file(
        general_name: bytes) -> None:
    value = b"\x30" + bytes([len(general_name)]) + general_name
    der = _self_signed_with([x509.UnrecognizedExtension(
        x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME, value)])
    with pytest.raises(InvalidInput):
        codec.load_certificates(der)
