"""Bytes to objects and back: PEM (one or many), DER, PKCS#7 (PEM or DER), CSRs, keys.

Anything that is not what was asked for raises ``InvalidInput`` with the appliance's
code ``invalid-certificate-file`` and a detail naming what the file actually is, so
a private key or CSR handed over in place of a certificate gets a useful answer.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from uccerts.errors import InvalidInput

MAX_FILE_BYTES = 1024 * 1024
INVALID_FILE = "invalid-certificate-file"
INVALID_FILE_MESSAGE = "Invalid certificate file provided"

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 #]+)-----(.*?)-----END \1-----", re.DOTALL
)
_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY"}
_CSR_LABELS = {b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"}


def _invalid(why: str, fix: str = "") -> InvalidInput:
    return InvalidInput(
        INVALID_FILE_MESSAGE,
        code=INVALID_FILE,
        fix=fix or "Provide the certificate as PEM, DER or PKCS#7 (.p7b) as the CA issued it",
        detail=why,
    )


def _pem_blocks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(label, DER) per PEM block; tolerant of CRLF, indentation and stray spaces."""
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        label, body = match.group(1).strip(), match.group(2)
        # Headers such as Proc-Type (encrypted legacy keys) are not base64.
        lines = [ln for ln in body.split(b"\n") if b":" not in ln]
        b64 = re.sub(rb"\s+", b"", b"".join(lines))
        try:
            der = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(f"a {label.decode(errors='replace')} PEM block is not valid base64"
                           ) from None
        blocks.append((label, der))
    return blocks


def _check_size(data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise _invalid(f"the file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}",
                       "A certificate file is a few kilobytes: check that this is the right file")
    if not data.strip():
        raise _invalid("the file is empty")


def _looks_like_pem(data: bytes) -> bool:
    return b"-----BEGIN " in data


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, a DER certificate, or a PKCS#7 (PEM or DER)."""
    _check_size(data)
    if _looks_like_pem(data):
        return _from_pem(data)
    return _from_der(data)


def _from_pem(data: bytes) -> list[x509.Certificate]:
    blocks = _pem_blocks(data)
    if not blocks:
        raise _invalid("the file has a BEGIN line but no complete PEM block")
    certs: list[x509.Certificate] = []
    for label, der in blocks:
        if label in (b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"):
            certs.append(_der_certificate(der))
        elif label in (b"PKCS7", b"CMS"):
            certs.extend(_pkcs7_der(der))
        elif label in _KEY_LABELS:
            raise _invalid("the file contains a private key, not a certificate",
                           "Upload the certificate the CA issued; never send or upload keys")
        elif label in _CSR_LABELS:
            raise _invalid("the file is a certificate signing request, not a certificate",
                           "Send this CSR to the CA and upload the certificate it returns")
        # Other blocks (e.g. parameters) are ignored, as OpenSSL does in a bundle.
    if not certs:
        raise _invalid("the file holds no certificate")
    return certs


def _der_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise _invalid("a CERTIFICATE block does not hold a valid X.509 certificate") from None


def _pkcs7_der(der: bytes) -> list[x509.Certificate]:
    try:
        certs = pkcs7.load_der_pkcs7_certificates(der)
    except ValueError:
        raise _invalid("the PKCS#7 structure is not valid") from None
    if not certs:
        raise _invalid("the PKCS#7 file holds no certificate")
    return list(certs)


def _from_der(data: bytes) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        pass
    try:
        certs = pkcs7.load_der_pkcs7_certificates(data)
        if certs:
            return list(certs)
    except ValueError:
        pass
    try:
        x509.load_der_x509_csr(data)
    except ValueError:
        pass
    else:
        raise _invalid("the file is a certificate signing request, not a certificate",
                       "Send this CSR to the CA and upload the certificate it returns")
    try:
        serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError):
        pass
    else:
        raise _invalid("the file contains a private key, not a certificate",
                       "Upload the certificate the CA issued; never send or upload keys")
    raise _invalid("the file is neither PEM, DER nor PKCS#7")


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    _check_size(data)
    if _looks_like_pem(data):
        for label, der in _pem_blocks(data):
            if label in _CSR_LABELS:
                return _der_csr(der)
        raise InvalidInput("The file is not a certificate signing request", code="invalid-csr",
                           fix="Provide the CSR as generated (BEGIN CERTIFICATE REQUEST)")
    return _der_csr(data)


def _der_csr(der: bytes) -> x509.CertificateSigningRequest:
    try:
        return x509.load_der_x509_csr(der)
    except ValueError:
        raise InvalidInput("The file is not a valid certificate signing request",
                           code="invalid-csr",
                           fix="Provide the CSR as generated (PEM or DER)") from None


def load_private_key(data: bytes) -> object:
    """A private key from PEM or DER (unencrypted). Returns the cryptography key object."""
    _check_size(data)
    try:
        if _looks_like_pem(data):
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except TypeError:
        raise InvalidInput("The private key is encrypted", code="invalid-key",
                           fix="Decrypt it first, e.g. openssl pkey -in key.pem -out plain.pem"
                           ) from None
    except (ValueError, Exception) as exc:  # unsupported algorithm raises its own type
        raise InvalidInput("The file is not a valid private key", code="invalid-key",
                           fix="Provide an unencrypted PEM or DER private key") from exc


def sniff(data: bytes) -> str:
    """``certificate`` | ``csr`` | ``key`` | ``unknown`` — what a file holds."""
    if len(data) > MAX_FILE_BYTES or not data.strip():
        return "unknown"
    try:
        load_certificates(data)
        return "certificate"
    except InvalidInput:
        pass
    try:
        load_csr(data)
        return "csr"
    except InvalidInput:
        pass
    try:
        load_private_key(data)
        return "key"
    except InvalidInput:
        return "unknown"


def certificate_pem(cert: x509.Certificate) -> str:
    """Canonical PEM: 64-column base64, ``\\n`` line ends."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificates_pem(certs: list[x509.Certificate]) -> str:
    return "".join(certificate_pem(c) for c in certs)


def csr_pem(csr: x509.CertificateSigningRequest) -> str:
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pkcs7_der(certs: list[x509.Certificate]) -> bytes:
    return pkcs7.serialize_certificates(certs, serialization.Encoding.DER)


def pkcs7_pem(certs: list[x509.Certificate]) -> bytes:
    return pkcs7.serialize_certificates(certs, serialization.Encoding.PEM)
