"""Private keys at rest: sealed with AES-256-GCM under one master key.

A sealed blob is ``version (1 byte) | nonce (12 bytes) | ciphertext + tag``. The
caller's ``context`` (which row the blob belongs to, e.g.
``identity/lab/cucm-pub/tomcat``) is bound in as associated data, so a blob copied
into another row does not open there: a swapped key is an error, never silently the
wrong key.

The master key comes from ``UCCERTS_MASTER_KEY`` (base64 of 32 bytes) or the home's
``master.key`` file (32 raw bytes, mode 0600), created on first use. Nothing here
puts key bytes into a message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from uccerts.domain.keys import PrivateKey
from uccerts.errors import SystemFailure

MASTER_KEY_BYTES = 32
VERSION = 1
_NONCE = 12
_TAG = 16
_AAD_PREFIX = b"uccerts-sealed-v1\x00"
_NEW_KEY_FIX = (
    'Set UCCERTS_MASTER_KEY to the output of: python3 -c "import os, base64; '
    'print(base64.b64encode(os.urandom(32)).decode())"'
)


def _mismatch() -> SystemFailure:
    return SystemFailure(
        "The master key does not open the sealed keys",
        code="master-key-mismatch",
        fix="Use the master key this database was created with (UCCERTS_MASTER_KEY or "
            "the master.key file of its home); without it the stored private keys are "
            "lost and must be regenerated",
    )


class Sealer:
    """Seals and opens byte strings (and private keys) under the master key."""

    __slots__ = ("_aead",)

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise SystemFailure(
                f"The master key must be {MASTER_KEY_BYTES} bytes, not {len(master_key)}",
                code="master-key-invalid",
                fix=_NEW_KEY_FIX,
            )
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:
        return "Sealer(<master key hidden>)"

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext, _AAD_PREFIX + context.encode())
        return bytes([VERSION]) + nonce + sealed

    def open(self, blob: bytes, context: str) -> bytes:
        if len(blob) < 1 + _NONCE + _TAG or blob[0] != VERSION:
            raise SystemFailure(
                "A sealed private key is damaged or of an unknown format",
                code="sealed-key-invalid",
                fix="Regenerate the certificate or CSR whose key is damaged",
            )
        nonce, sealed = blob[1:1 + _NONCE], blob[1 + _NONCE:]
        try:
            return self._aead.decrypt(nonce, sealed, _AAD_PREFIX + context.encode())
        except InvalidTag:
            raise _mismatch() from None

    def seal_key(self, key: PrivateKey, context: str) -> bytes:
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return self.seal(der, context)

    def open_key(self, blob: bytes, context: str) -> PrivateKey:
        der = self.open(blob, context)
        try:
            # The AES-GCM tag proves these are the exact bytes uccerts sealed from a key
            # it generated, so OpenSSL's RSA consistency check (primality tests on p and
            # q, ~75 ms a key) would only re-prove that on every read.
            key = serialization.load_der_private_key(
                der, password=None, unsafe_skip_rsa_key_validation=True)
        except ValueError:
            key = None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SystemFailure(
                "A sealed private key does not hold an RSA or EC key",
                code="sealed-key-invalid",
                fix="Regenerate the certificate or CSR whose key is damaged",
            )
        return key


def _from_env(env_b64: str) -> bytes:
    try:
        key = base64.b64decode(env_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SystemFailure(
            "UCCERTS_MASTER_KEY is not valid base64",
            code="master-key-invalid",
            fix=_NEW_KEY_FIX,
        ) from None
    if len(key) != MASTER_KEY_BYTES:
        raise SystemFailure(
            f"UCCERTS_MASTER_KEY must decode to {MASTER_KEY_BYTES} bytes, not {len(key)}",
            code="master-key-invalid",
            fix=_NEW_KEY_FIX,
        )
    return key


def _read_file(path: Path) -> bytes:
    try:
        info = path.stat()
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SystemFailure(
                f"The master key file {path} is readable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o})",
                code="master-key-exposed",
                fix=f"Run: chmod 600 {path} (and consider the key compromised if others "
                    "could read it)",
            )
        key = path.read_bytes()
    except OSError as err:
        raise SystemFailure(
            f"Cannot read the master key file {path}: {err.strerror}",
            code="master-key-unreadable",
            fix="Run uccerts as the user who owns the file, or set UCCERTS_MASTER_KEY",
        ) from err
    if len(key) != MASTER_KEY_BYTES:
        raise SystemFailure(
            f"The master key file {path} holds {len(key)} bytes, not {MASTER_KEY_BYTES}",
            code="master-key-invalid",
            fix="Restore the original master.key from backup (it is 32 raw bytes)",
        )
    return key


def _create_file(path: Path) -> bytes:
    """Write a new key so that no reader ever sees a partial or loose-mode file."""
    key = os.urandom(MASTER_KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() fails if the name exists: two first runs never overwrite each other.
            os.link(tmp, path)
        except FileExistsError:
            return _read_file(path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as err:
        raise SystemFailure(
            f"Cannot create the master key file {path}: {err.strerror}",
            code="master-key-unwritable",
            fix="Make the uccerts home folder writable by this user, or set "
                "UCCERTS_MASTER_KEY",
        ) from err
    return key


def load_or_create_master_key(path: Path, env_b64: str | None) -> bytes:
    """The master key: from ``env_b64`` if given, else ``path`` (created when missing)."""
    if env_b64:
        return _from_env(env_b64)
    if path.exists():
        return _read_file(path)
    return _create_file(path)
