"""Platform administrator accounts: slow password hashes, never stored in clear."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from uccerts.errors import InvalidInput, NotFound, Refused, UsageError
from uccerts.services.context import Context

# scrypt with these costs takes ~50 ms: slow for guessing, fine for a login.
_N, _R, _P = 2**14, 8, 1


class AccountRole(StrEnum):
    """The appliance's privilege levels, stored as these strings."""

    READ_ONLY = "read-only"  # privilege 0
    READ_WRITE = "read-write"  # privilege 1


ROLES = tuple(r.value for r in AccountRole)


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


# ---------------------------------------------------------------- use cases


@dataclass(frozen=True)
class Account:
    username: str
    role: AccountRole

    @property
    def can_write(self) -> bool:
        return self.role is AccountRole.READ_WRITE


def _check_name(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise UsageError(f"Account name '{username}' is not valid", code="invalid-username",
                         fix="Use 1-64 letters, digits, '.', '_' or '-'")
    return name


def _check_role(role: str) -> AccountRole:
    if role not in ROLES:
        raise UsageError(f"Unknown role '{role}'", code="invalid-role",
                         fix="Use read-only or read-write")
    return AccountRole(role)


class AccountService:
    """The platform administrator accounts shared by the CLI, web console, APIs and
    the admin: shell. Every change is audited; passwords are never stored in clear."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def authenticate(self, username: str, password: str) -> Account | None:
        with self.ctx.read() as uow:
            found = uow.accounts.get(username)
        if found is None:
            # Same cost as a real check: the answer time does not tell which names exist.
            verify_password(password, _dummy_hash())
            return None
        role, stored = found
        return Account(username, AccountRole(role)) if verify_password(password, stored) else None

    def get(self, username: str) -> Account | None:
        with self.ctx.read() as uow:
            found = uow.accounts.get(username)
        return Account(username, AccountRole(found[0])) if found else None

    def list(self) -> list[Account]:
        with self.ctx.read() as uow:
            return [Account(name, AccountRole(role)) for name, role in uow.accounts.list()]

    def add(self, username: str, role: str, password: str) -> Account:
        name, role = _check_name(username), _check_role(role)
        digest = hash_password(password)
        with self.ctx.uow() as uow:
            uow.accounts.add(name, role, digest, created=self.ctx.clock())
            self.ctx.audit(uow, "", "admin add", "ok", detail=f"{name} ({role})")
            uow.commit()
        return Account(name, role)

    def set_password(self, username: str, password: str) -> None:
        digest = hash_password(password)
        with self.ctx.uow() as uow:
            if not uow.accounts.set_password(username, digest):
                raise NotFound(f"No account named {username}", code="unknown-account",
                               fix="List the accounts to find its name")
            self.ctx.audit(uow, "", "admin set-password", "ok", detail=username)
            uow.commit()

    def remove(self, username: str) -> None:
        with self.ctx.uow() as uow:
            found = uow.accounts.get(username)
            if found is None:
                raise NotFound(f"No account named {username}", code="unknown-account",
                               fix="List the accounts to find its name")
            writers = [n for n, r in uow.accounts.list() if r == AccountRole.READ_WRITE]
            if found[0] == AccountRole.READ_WRITE and writers == [username]:
                raise Refused(f"{username} is the last read-write account",
                              code="last-administrator",
                              fix="Add another read-write account first")
            uow.accounts.remove(username)
            self.ctx.audit(uow, "", "admin remove", "ok", detail=username)
            uow.commit()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so that an unknown
    name costs as long as a wrong password. Made on first use, not at import: every
    CLI start imports this module and most never log anyone in (~50 ms saved)."""
    return hash_password("not-a-real-password-0")
