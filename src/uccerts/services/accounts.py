"""Platform administrator accounts: slow password hashes, never stored in clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from uccerts.errors import InvalidInput

# scrypt with these costs takes ~50 ms: slow for guessing, fine for a login.
_N, _R, _P = 2**14, 8, 1
ROLES = ("read-only", "read-write")


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidInput("The password is shorter than 8 characters",
                           code="weak-password", fix="Choose a password of 8 or more characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def new_password() -> str:
    return secrets.token_urlsafe(12)
