"""Bytes to objects and back: PEM (one or many), DER, PKCS#7 (PEM or DER), CSRs, keys.

Anything that is not what was asked for raises ``InvalidInput`` with the appliance's
code ``invalid-certificate-file`` (``invalid-csr``, ``invalid-key`` for the other
loaders) and a ``detail`` naming what the file actually is, so a private key or CSR
handed over in place of a certificate gets a useful answer. No other exception leaves
this module for any input (tests/unit/test_codec.py checks that with hypothesis).

PEM is read by a linear scan of BEGIN/END markers rather than one regex over whole
blocks: a backtracking ``.*?`` over a megabyte of unmatched BEGIN lines is quadratic.
The PKCS#7 module pulls in the ``email`` package, so it is imported only when a file
needs it (the offline ``decode`` start-up budget, benchmarks/decode_cold_start.py).
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.utils import CryptographyDeprecationWarning

from uccerts.errors import InvalidInput

MAX_FILE_BYTES = 1024 * 1024
INVALID_FILE = "invalid-certificate-file"
INVALID_FILE_MESSAGE = "Invalid certificate file provided"
INVALID_CSR = "invalid-csr"
INVALID_KEY = "invalid-key"

_CERT_FIX = "Provide the certificate as PEM, DER or PKCS#7 (.p7b) as the CA issued it"
_CSR_FIX = "Provide the CSR as generated (PEM BEGIN CERTIFICATE REQUEST, or DER)"
_KEY_FIX = "Provide an unencrypted PEM or DER private key"

# Every error cryptography raises for bad bytes. UnsupportedAlgorithm (a PKCS#7 that is
# not signed-data, a GOST key) and InvalidVersion (a certificate version other than 1
# or 3) are not ValueErrors.
# cryptography raises these for damaged or unusual input; not all are ValueErrors.
_PARSE_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion,
                 x509.DuplicateExtension, x509.UnsupportedGeneralNameType)

_MARKER = re.compile(rb"-----(BEGIN|END) ([A-Z0-9 #]{1,64})-----")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_PKCS7_LABELS = {b"PKCS7", b"CMS", b"PKCS #7 SIGNED DATA"}
_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"DSA PRIVATE KEY",
               b"ENCRYPTED PRIVATE KEY"}
_CSR_LABELS = {b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"}

X509T = TypeVar("X509T", x509.Certificate, x509.CertificateSigningRequest)



def _invalid(why: str, fix: str = "") -> InvalidInput:
    return InvalidInput(INVALID_FILE_MESSAGE, code=INVALID_FILE, fix=fix or _CERT_FIX,
                        detail=why)


def _invalid_csr(why: str) -> InvalidInput:
    return InvalidInput("The file is not a valid certificate signing request",
                        code=INVALID_CSR, fix=_CSR_FIX, detail=why)


def _invalid_key(why: str, fix: str = _KEY_FIX) -> InvalidInput:
    # Never put key material in the error: only what kind of file it is.
    return InvalidInput("The file is not a valid private key", code=INVALID_KEY, fix=fix,
                        detail=why)


_IS_KEY = "the file contains a private key, not a certificate"
_IS_KEY_FIX = "Upload the certificate the CA issued; never send or upload private keys"
_IS_CSR = "the file is a certificate signing request (CSR), not a certificate"
_IS_CSR_FIX = "Send this CSR to the CA and upload the certificate it returns"



@dataclass(frozen=True)
class _Block:
    label: bytes
    body: bytes  # the raw text between the markers (may carry RFC 1421 headers)
    text: bytes  # the whole block, markers included, for loaders that want PEM

    @property
    def name(self) -> str:
        return self.label.decode("ascii")

    def der(self, fail: Callable[[str], InvalidInput]) -> bytes:
        # Headers such as Proc-Type (legacy encrypted keys) are not base64; base64
        # never contains a colon, so dropping colon lines removes exactly them.
        lines = [ln for ln in self.body.splitlines() if b":" not in ln]
        b64 = re.sub(rb"\s+", b"", b"".join(lines))
        try:
            der = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise fail(f"the {self.name} PEM block is not valid base64 (damaged or truncated)"
                       ) from None
        if not der:
            raise fail(f"the {self.name} PEM block is empty")
        return der


def _has_pem_markers(data: bytes) -> bool:
    return b"-----BEGIN " in data or b"-----END " in data


def _pem_blocks(data: bytes, fail: Callable[[str], InvalidInput]) -> list[_Block]:
    """Every PEM block, in order. Tolerates CRLF, indentation, text between blocks and
    a PEM flattened onto one line; refuses unbalanced markers (a truncated file)."""
    blocks: list[_Block] = []
    open_label: bytes | None = None
    open_start = open_end = 0
    for marker in _MARKER.finditer(data):
        kind, label = marker.group(1), marker.group(2).strip()
        name = label.decode("ascii")
        if kind == b"BEGIN":
            if open_label is not None:
                raise fail(f"the PEM data is truncated: the {open_label.decode()} block has "
                           "no END line before the next BEGIN line")
            open_label, open_start, open_end = label, marker.start(), marker.end()
        elif open_label is None:
            raise fail(f"the PEM data is truncated: an END {name} line has no BEGIN line")
        elif label != open_label:
            raise fail(f"the PEM block begins as {open_label.decode()} but ends as {name}")
        else:
            blocks.append(_Block(label, data[open_end:marker.start()],
                                 data[open_start:marker.end()]))
            open_label = None
    if open_label is not None:
        raise fail(f"the PEM data is truncated: the {open_label.decode()} block has no "
                   "END line")
    if not blocks:
        raise fail("the file has PEM-like lines but no complete PEM block")
    return blocks



def _der_sequence_length(data: bytes) -> int | None:
    """Total length announced by a leading DER SEQUENCE header, or None if there is none.

    Used only to tell a truncated DER file (or OpenSSL's TRUSTED CERTIFICATE, a
    certificate followed by extra data) from other bytes.
    """
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(data) < 2 + count:
        return None
    return 2 + count + int.from_bytes(data[2:2 + count], "big")


def _truncated_der(data: bytes) -> str | None:
    total = _der_sequence_length(data)
    if total is not None and total > len(data):
        return (f"the file is truncated DER: its header announces {total} bytes but the "
                f"file has {len(data)}")
    return None



@contextmanager
def _quiet_parser_warnings() -> Iterator[None]:
    # cryptography warns on loading a certificate whose serial is zero or negative, and
    # again on every read of that serial; it will refuse them one day. We refuse them
    # now (_positive_serial), so the warning is noise here and never reaches a caller.
    # It also warns when a PKCS#7 is BER rather than DER: Windows CAs issue such .p7b
    # files and users cannot change that, so they load silently.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        warnings.filterwarnings("ignore", "PKCS#7 certificates could not be parsed as DER",
                                UserWarning)
        yield


def _checked(obj: X509T, fail: Callable[[str], InvalidInput], what: str) -> X509T:
    """Touch the lazily parsed parts so that damage surfaces here, as InvalidInput."""
    try:
        obj.public_key()
    except _PARSE_ERRORS:
        raise fail(f"the {what}'s public key is malformed or uses an unsupported "
                   "algorithm") from None
    try:
        obj.extensions  # noqa: B018
    except _PARSE_ERRORS as exc:
        raise fail(f"the {what} has a malformed extension ({exc})") from None
    try:
        # Names (and a certificate's issuer and validity) are parsed lazily as well.
        obj.subject  # noqa: B018
        if isinstance(obj, x509.Certificate):
            obj.issuer  # noqa: B018
            obj.not_valid_before_utc  # noqa: B018
            obj.not_valid_after_utc  # noqa: B018
    except _PARSE_ERRORS as exc:
        raise fail(f"the {what} has a malformed name or validity ({exc})") from None
    return obj


def _check_size(data: bytes, fail: Callable[[str], InvalidInput]) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"the file is too large: {len(data)} bytes; the limit is "
                   f"{MAX_FILE_BYTES} (a certificate file is a few kilobytes)")
    if not data.strip():
        raise fail("the file is empty")


def _describe_other(data: bytes) -> str:
    """What a file that is neither PEM nor a known DER structure looks like."""
    truncated = _truncated_der(data)
    if truncated:
        return truncated
    if data.startswith(b"\x30"):
        return "the file is DER (ASN.1) data but not a certificate, PKCS#7, CSR or key"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the file is binary data (not UTF-8 text) and not a DER certificate or PKCS#7"
    if _headerless_base64(text):
        return ("the file is base64 without the -----BEGIN CERTIFICATE----- and "
                "-----END CERTIFICATE----- lines")
    return "the file is text without any -----BEGIN ...----- PEM block"


def _headerless_base64(text: str) -> bool:
    compact = re.sub(r"\s+", "", text)
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return False
    return _der_sequence_length(der) is not None


def _load_pkcs7_der(der: bytes) -> list[x509.Certificate]:
    from cryptography.hazmat.primitives.serialization import pkcs7

    return pkcs7.load_der_pkcs7_certificates(der)


def _serialize_pkcs7(certs: list[x509.Certificate], encoding: serialization.Encoding) -> bytes:
    from cryptography.hazmat.primitives.serialization import pkcs7

    return pkcs7.serialize_certificates(certs, encoding)



def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, a DER certificate, or a PKCS#7 (PEM or DER)."""
    _check_size(data, _invalid)
    with _quiet_parser_warnings():
        certs = _from_pem(data) if _has_pem_markers(data) else _from_der(data)
        return [_positive_serial(_checked(c, _invalid, "certificate")) for c in certs]


def _positive_serial(cert: x509.Certificate) -> x509.Certificate:
    if cert.serial_number <= 0:
        raise _invalid("the certificate's serial number is zero or negative, which RFC 5280 "
                       "forbids", "Ask the CA to reissue the certificate")
    return cert


def _from_pem(data: bytes) -> list[x509.Certificate]:
    blocks = _pem_blocks(data, _invalid)
    labels = {b.label for b in blocks}
    has_certs = bool(labels & (_CERT_LABELS | _PKCS7_LABELS))
    # A key or CSR refuses the whole file: an upload must never carry a private key.
    if labels & _KEY_LABELS:
        raise _invalid("the file contains a private key next to the certificates"
                       if has_certs else _IS_KEY, _IS_KEY_FIX)
    if labels & _CSR_LABELS:
        raise _invalid("the file contains a CSR next to the certificates"
                       if has_certs else _IS_CSR, _IS_CSR_FIX)
    certs: list[x509.Certificate] = []
    others: list[str] = []
    for block in blocks:
        if block.label in _CERT_LABELS:
            certs.append(_der_certificate(block.der(_invalid), block.name))
        elif block.label in _PKCS7_LABELS:
            certs.extend(_pkcs7_certificates(block.der(_invalid)))
        else:
            # Other blocks (parameters, CRLs) are skipped, as OpenSSL does in a bundle.
            others.append(block.name)
    if not certs:
        raise _invalid("the PEM file holds no certificate (only: " + ", ".join(others) + ")")
    return certs


def _der_certificate(der: bytes, label: str = "CERTIFICATE") -> x509.Certificate:
    total = _der_sequence_length(der)
    if label == "TRUSTED CERTIFICATE" and total is not None:
        der = der[:total]  # OpenSSL appends its trust settings after the certificate
    try:
        return x509.load_der_x509_certificate(der)
    except _PARSE_ERRORS:
        raise _invalid(_truncated_der(der) or
                       f"the {label} PEM block does not hold a valid X.509 certificate "
                       "(damaged or truncated)") from None


def _pkcs7_certificates(der: bytes) -> list[x509.Certificate]:
    try:
        certs = _load_pkcs7_der(der)
    except UnsupportedAlgorithm:
        raise _invalid("the PKCS#7 file is not a certificate bundle (signed-data)") from None
    except _PARSE_ERRORS:
        raise _invalid(_truncated_der(der) or "the PKCS#7 structure is not valid") from None
    if not certs:
        raise _invalid("the PKCS#7 file holds no certificate")
    return list(certs)


def _from_der(data: bytes) -> list[x509.Certificate]:
    # Every DER form here is a SEQUENCE; BER from Windows CAs may use the indefinite
    # length (30 80), so only the tag is checked before trying the parsers.
    if not data.startswith(b"\x30"):
        raise _invalid(_describe_other(data))
    if _parses(x509.load_der_x509_certificate, data):
        return [x509.load_der_x509_certificate(data)]
    if _parses(x509.load_der_x509_csr, data):
        raise _invalid(_IS_CSR, _IS_CSR_FIX)
    if _parses(lambda d: serialization.load_der_private_key(d, password=None), data):
        raise _invalid(_IS_KEY, _IS_KEY_FIX)
    try:
        certs = _load_pkcs7_der(data)
    except UnsupportedAlgorithm:
        raise _invalid("the file is PKCS#7 but not a certificate bundle (signed-data)"
                       ) from None
    except _PARSE_ERRORS:
        raise _invalid(_describe_other(data)) from None
    if not certs:
        raise _invalid("the PKCS#7 file holds no certificate")
    return list(certs)


def _parses(loader: Callable[[bytes], object], data: bytes) -> bool:
    try:
        loader(data)
    except _PARSE_ERRORS:
        return False
    return True



def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """A CSR from PEM (the first CERTIFICATE REQUEST block) or DER."""
    _check_size(data, _invalid_csr)
    with _quiet_parser_warnings():
        csr = _csr_from_pem(data) if _has_pem_markers(data) else _der_csr(data)
        return _checked(csr, _invalid_csr, "CSR")


def _csr_from_pem(data: bytes) -> x509.CertificateSigningRequest:
    blocks = _pem_blocks(data, _invalid_csr)
    for block in blocks:
        if block.label in _CSR_LABELS:
            return _der_csr(block.der(_invalid_csr))
    labels = {b.label for b in blocks}
    if labels & _KEY_LABELS:
        raise _invalid_csr("the file contains a private key, not a CSR")
    if labels & (_CERT_LABELS | _PKCS7_LABELS):
        raise _invalid_csr("the file holds a certificate, not a CSR")
    raise _invalid_csr("the PEM file holds no CERTIFICATE REQUEST block")


def _der_csr(der: bytes) -> x509.CertificateSigningRequest:
    try:
        return x509.load_der_x509_csr(der)
    except _PARSE_ERRORS:
        pass
    if _parses(x509.load_der_x509_certificate, der):
        raise _invalid_csr("the file holds a certificate, not a CSR")
    raise _invalid_csr(_describe_other(der))



def load_private_key(data: bytes) -> PrivateKeyTypes:
    """A private key from PEM (its key block, wherever it is in the file) or DER,
    unencrypted."""
    _check_size(data, _invalid_key)
    if _has_pem_markers(data):
        blocks = [b for b in _pem_blocks(data, _invalid_key) if b.label in _KEY_LABELS]
        if not blocks:
            raise _invalid_key("the PEM file holds no PRIVATE KEY block")
        text = blocks[0].text
        if blocks[0].label == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type:" in blocks[0].body:
            raise _encrypted()
        return _load_key(lambda: serialization.load_pem_private_key(text, password=None))
    return _load_key(lambda: serialization.load_der_private_key(data, password=None))


def _encrypted() -> InvalidInput:
    return _invalid_key("the private key is encrypted",
                        "Decrypt it first, e.g. openssl pkey -in key.pem -out plain.pem")


def _load_key(loader: Callable[[], PrivateKeyTypes]) -> PrivateKeyTypes:
    try:
        return loader()
    except TypeError:  # "Password was not given but private key is encrypted"
        raise _encrypted() from None
    except UnsupportedAlgorithm:
        raise _invalid_key("the private key uses an unsupported algorithm") from None
    except ValueError:
        raise _invalid_key("the file is not a valid private key (damaged, truncated or "
                           "not a key)") from None



def load_certificates_or_csr(
    data: bytes,
) -> list[x509.Certificate] | x509.CertificateSigningRequest:
    """What ``decode`` reads: certificates (any form above) or else a CSR.

    When the file is neither, the certificate loader's error is raised: its detail
    says what the file is instead (a key, junk, a truncated PEM...).
    """
    try:
        return load_certificates(data)
    except InvalidInput as cert_error:
        if cert_error.detail != _IS_CSR:
            raise
    return load_csr(data)


def sniff(data: bytes) -> str:
    """``certificate`` | ``csr`` | ``key`` | ``unknown`` — what a file holds."""
    if len(data) > MAX_FILE_BYTES or not data.strip():
        return "unknown"
    for kind, loader in (("certificate", load_certificates), ("csr", load_csr),
                         ("key", load_private_key)):
        try:
            loader(data)
        except InvalidInput:
            continue
        return kind
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
    return _serialize_pkcs7(certs, serialization.Encoding.DER)


def pkcs7_pem(certs: list[x509.Certificate]) -> bytes:
    return _serialize_pkcs7(certs, serialization.Encoding.PEM)
