"""API tokens for scripts (``POST /api/v1/auth/tokens``, then ``Authorization: Bearer``).

A token is 32 random bytes shown once; the store keeps only its SHA-256 (table
``api_tokens``), with the account it acts as, what it is for, and when it expires.
Kept in the database rather than in memory so that a token works on every node's API
and survives a restart of Cisco Tomcat or of ``serve`` (a script that restarts Tomcat
must not lose its credentials half-way). The account's role is read at each use:
removing the account ends its tokens. Issue and revoke are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from uccerts.domain.model import ApiToken
from uccerts.errors import UsageError
from uccerts.services.context import Context, resolve_cluster
from uccerts.services.views import iso

TOKEN_PREFIX = "ucc_"
MAX_TTL_HOURS = 24 * 365
MAX_NAME = 200
MAX_TOKEN_TEXT = 200  # longer than any token issued: not worth hashing


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: str  # the secret, shown once
    user: str
    role: str
    expires: str

    def to_dict(self) -> dict[str, str]:
        return {"token": self.token, "token_type": "Bearer", "user": self.user,
                "role": self.role, "expires": self.expires}


@dataclass(frozen=True)
class TokenOwner:
    """Who a valid token acts as: the account and its role now."""

    user: str
    role: str


class TokenService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def issue(self, role: str, ttl_hours: int, description: str = "") -> Issued:
        """A token acting as the context's actor (whose role is ``role``)."""
        if not 1 <= ttl_hours <= MAX_TTL_HOURS:
            raise UsageError(f"ttl_hours {ttl_hours} is out of range", code="invalid-ttl",
                             fix=f"Give 1 to {MAX_TTL_HOURS} hours")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.ctx.clock()
        expires = now + dt.timedelta(hours=ttl_hours)
        name = description[:MAX_NAME]
        with self.ctx.uow() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster).name
            uow.tokens.add(ApiToken(sha256=digest(token), owner=self.ctx.actor, name=name,
                                    created=now, expires=expires))
            self.ctx.audit(uow, cluster, "api token create", "ok",
                           detail=f"expires {iso(expires)}" + (f"; {name}" if name else ""))
            uow.commit()
        return Issued(token, self.ctx.actor, role, iso(expires))

    def verify(self, token: str) -> TokenOwner | None:
        """Who the token acts as, or None (unknown, expired, revoked, or its account
        is gone)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_TEXT:
            return None
        with self.ctx.read() as uow:
            found = uow.tokens.get(digest(token))
            if found is None or found.revoked or found.expires <= self.ctx.clock():
                return None
            account = uow.accounts.get(found.owner)
        return None if account is None else TokenOwner(found.owner, account[0])

    def revoke(self, token: str) -> None:
        """Revoke ``token`` (audited as the context's actor); an unknown token is
        already as good as revoked."""
        with self.ctx.uow() as uow:
            if not uow.tokens.revoke(digest(token)):
                return
            cluster = resolve_cluster(uow, self.ctx.cluster).name
            self.ctx.audit(uow, cluster, "api token revoke", "ok")
            uow.commit()
