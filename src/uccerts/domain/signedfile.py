"""A small signed JSON envelope, verifiable with ``cryptography`` alone (no CMS/PKCS#7).

The ITL, CTL and phone config files (domain.md §9, docs/trust-lists.md) are this
envelope around a JSON body::

    {"format": "uccerts-signed/1", "kind": KIND, "body": {...},
     "signer": "<PEM certificate>", "algorithm": "rsa-pkcs1v15-sha256" | "ecdsa-sha256",
     "signature": "<base64>"}

The signature covers the canonical bytes of every field but ``signature``: JSON with
sorted keys, no spaces, UTF-8 (``canonical``). The file itself is written the same
canonical way, so the same inputs give the same bytes (with an RSA signer).

``read_file`` raises ``InvalidInput`` and nothing else for any bytes: code
``signed-file-invalid`` when the file is not such an envelope (its detail says why) and
``signature-invalid`` when the signature does not verify (tests/unit/test_signedfile.py
checks that with hypothesis).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from uccerts.domain.codec import certificate_pem, load_certificates
from uccerts.domain.keys import PrivateKey, same_public_key
from uccerts.errors import InvalidInput

FORMAT = "uccerts-signed/1"
RSA_SHA256 = "rsa-pkcs1v15-sha256"
ECDSA_SHA256 = "ecdsa-sha256"
ALGORITHMS = (RSA_SHA256, ECDSA_SHA256)
MAX_SIGNED_FILE_BYTES = 4 * 1024 * 1024

INVALID = "signed-file-invalid"
BAD_SIGNATURE = "signature-invalid"
KEY_MISMATCH = "signer-key-mismatch"

_SIGNED_FIELDS = ("format", "kind", "body", "signer", "algorithm")
_FIELDS = frozenset((*_SIGNED_FIELDS, "signature"))
_FIX = "Download the file again from the TFTP server; it must be the file as served"
# Deeply nested JSON makes the json module recurse; lone surrogates (\ud800) parse but
# cannot be encoded to UTF-8; json refuses more than 4300 digits with a ValueError.
_JSON_ERRORS = (ValueError, TypeError, RecursionError, UnicodeError)


def cert_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, 64 lower-case hex digits."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def canonical(obj: object) -> bytes:
    """The one byte form of a JSON value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


@dataclass(frozen=True)
class SignedFile:
    """A verified envelope. ``body`` is a fresh JSON object per read (the caller may
    keep it); ``raw`` is the exact file bytes."""

    kind: str
    body: Mapping[str, Any] = field(hash=False)
    signer: x509.Certificate
    raw: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def signer_sha256(self) -> str:
        return cert_sha256(self.signer)


def _invalid(why: str) -> InvalidInput:
    return InvalidInput("The file is not a valid signed file", code=INVALID, fix=_FIX,
                        detail=why)


def _fail(why: str) -> NoReturn:
    raise _invalid(why)


def sign_file(kind: str, body: Mapping[str, Any], signer: x509.Certificate,
              key: PrivateKey) -> bytes:
    """The envelope of ``body``, signed by ``key``, whose certificate is ``signer``."""
    if not same_public_key(key.public_key(), signer.public_key()):
        raise InvalidInput("The private key does not belong to the signer certificate",
                           code=KEY_MISMATCH,
                           fix="Sign with the key of the certificate named as signer")
    if not isinstance(kind, str) or not kind:
        _fail("the kind must be a non-empty string")
    try:
        # A round trip through JSON makes the body exactly what a reader will parse
        # (tuples become lists, keys strings), so the signature verifies on read.
        plain_body = json.loads(canonical(dict(body)))
    except _JSON_ERRORS as exc:
        raise _invalid(f"the body is not JSON-compatible ({exc})") from None
    algorithm = RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256
    signed = {"format": FORMAT, "kind": kind, "body": plain_body,
              "signer": certificate_pem(signer), "algorithm": algorithm}
    message = canonical(signed)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    return canonical({**signed, "signature": base64.b64encode(signature).decode("ascii")})


def read_file(data: bytes, *, kind: str | None = None) -> SignedFile:
    """Parse and verify an envelope; with ``kind``, refuse a file of another kind."""
    doc = _parse(data)
    if kind is not None and doc["kind"] != kind:
        _fail(f"the file is a {_quoted(doc['kind'])} file, not {kind}")
    signer = _signer(doc["signer"])
    signature = _signature(doc["signature"])
    try:
        message = canonical({name: doc[name] for name in _SIGNED_FIELDS})
    except _JSON_ERRORS as exc:
        raise _invalid(f"the file cannot be put in canonical form ({exc})") from None
    _verify(signer, doc["algorithm"], signature, message)
    return SignedFile(kind=doc["kind"], body=doc["body"], signer=signer, raw=bytes(data))


def _parse(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_SIGNED_FILE_BYTES:
        _fail(f"the file is too large: {len(data)} bytes; the limit is "
              f"{MAX_SIGNED_FILE_BYTES}")
    if not bytes(data).strip():
        _fail("the file is empty")
    try:
        text = bytes(data).decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_no_duplicates,
                         parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise _invalid(f"the JSON repeats the key {_quoted(exc.key)}") from None
    except _JSON_ERRORS:
        raise _invalid("the file is not UTF-8 JSON") from None
    if not isinstance(doc, dict):
        _fail("the file is JSON but not an object")
    if doc.get("format") != FORMAT:
        _fail(f"the format is {_quoted(doc.get('format'))}, not {FORMAT}")
    missing = sorted(_FIELDS - doc.keys())
    if missing:
        _fail("the field " + ", ".join(missing) + " is missing")
    extra = sorted(doc.keys() - _FIELDS)
    if extra:
        _fail("unexpected field " + ", ".join(_quoted(k) for k in extra))
    for name in ("kind", "signer", "algorithm", "signature"):
        if not isinstance(doc[name], str):
            _fail(f"the field {name} is not a string")
    if not doc["kind"]:
        _fail("the kind is empty")
    if not isinstance(doc["body"], dict):
        _fail("the body is not a JSON object")
    if doc["algorithm"] not in ALGORITHMS:
        _fail(f"unknown algorithm {_quoted(doc['algorithm'])}; known: "
              + ", ".join(ALGORITHMS))
    return doc


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of repeated keys; a signed file must mean one thing.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _quoted(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _signer(text: str) -> x509.Certificate:
    if not text.lstrip().startswith("-----BEGIN CERTIFICATE-----"):
        _fail("the signer is not a PEM certificate")
    try:
        certs = load_certificates(text.encode("utf-8"))
    except UnicodeError:
        raise _invalid("the signer is not a PEM certificate") from None
    except InvalidInput as exc:
        raise _invalid(f"the signer certificate cannot be read: {exc.detail}") from None
    if len(certs) != 1:
        _fail(f"the signer holds {len(certs)} certificates, not one")
    return certs[0]


def _signature(text: str) -> bytes:
    try:
        signature = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("the signature is not base64") from None
    if not signature:
        _fail("the signature is empty")
    return signature


def _verify(signer: x509.Certificate, algorithm: str, signature: bytes,
            message: bytes) -> None:
    public_key = signer.public_key()
    try:
        if algorithm == RSA_SHA256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == ECDSA_SHA256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            _fail(f"the algorithm {algorithm} does not fit the signer's "
                  f"{type(public_key).__name__.removeprefix('_')} key")
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidInput("The file's signature does not verify with its signer "
                           "certificate", code=BAD_SIGNATURE,
                           fix="The file was changed after signing; download it again",
                           detail="the signature does not match the signed fields"
                           ) from None
