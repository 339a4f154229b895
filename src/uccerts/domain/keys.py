"""Key generation, public-key hashes and key matching (domain.md §4, §11)."""

from __future__ import annotations

import hashlib
from typing import TypeAlias

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from uccerts.domain.purposes import KeyType
from uccerts.errors import UsageError

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

RSA_LENGTHS = (1024, 2048, 3072, 4096)
EC_LENGTHS = (256, 384, 521)
DEFAULT_LENGTH = {KeyType.RSA: 2048, KeyType.EC: 256}
_CURVES: dict[int, ec.EllipticCurve] = {
    256: ec.SECP256R1(),
    384: ec.SECP384R1(),
    521: ec.SECP521R1(),
}
SignatureHash: TypeAlias = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
HASHES: dict[str, SignatureHash] = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}
# EC: the hash must be at least as strong as the key (domain.md §4).
_MIN_EC_HASH = {256: "SHA256", 384: "SHA384", 521: "SHA512"}
_HASH_ORDER = ["SHA1", "SHA256", "SHA384", "SHA512"]


def validate_key_settings(key_type: KeyType, length: int | None, hash_name: str | None
                          ) -> tuple[int, str]:
    """Return (length, HASH) after checking them against the dialog's rules."""
    length = length or DEFAULT_LENGTH[key_type]
    allowed = RSA_LENGTHS if key_type is KeyType.RSA else EC_LENGTHS
    if length not in allowed:
        raise UsageError(
            f"Key length {length} is not allowed for {key_type.value} keys",
            code="invalid-key-length",
            fix="Use one of: " + ", ".join(str(n) for n in allowed),
        )
    name = (hash_name or "SHA256").upper().replace("-", "")
    if name == "SHA1":
        # The dialog still lists SHA1, but cryptography no longer makes SHA-1 signatures.
        raise UsageError(
            "SHA1 is not supported for new signatures: SHA-1 is broken for signing",
            code="invalid-hash",
            fix="Use SHA256 (the default), SHA384 or SHA512",
        )
    if name not in HASHES:
        raise UsageError(
            f"Hash algorithm '{hash_name}' is not supported",
            code="invalid-hash",
            fix="Use one of: " + ", ".join(HASHES),
        )
    if key_type is KeyType.EC and _HASH_ORDER.index(name) < _HASH_ORDER.index(
        _MIN_EC_HASH[length]
    ):
        raise UsageError(
            f"Hash {name} is weaker than an EC {length} key",
            code="invalid-hash",
            fix=f"Use {_MIN_EC_HASH[length]} or stronger for EC {length}",
        )
    return length, name


def generate_key(key_type: KeyType, length: int) -> PrivateKey:
    if key_type is KeyType.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=length)
    return ec.generate_private_key(_CURVES[length])


def key_type_of(key: PublicKey | PrivateKey) -> KeyType:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return KeyType.RSA
    return KeyType.EC


def key_size_of(key: PublicKey | PrivateKey) -> int:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return key.key_size
    return key.curve.key_size


def spki_der(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_hash(public_key: object) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, 64 lower-case hex digits (domain.md §11)."""
    return hashlib.sha256(spki_der(public_key)).hexdigest()


def same_public_key(a: object, b: object) -> bool:
    return spki_der(a) == spki_der(b)
