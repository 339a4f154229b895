"""API tokens for scripts: ``POST /api/v1/auth/tokens`` then ``Authorization: Bearer``.

A token is 32 random bytes shown once; the database keeps only its SHA-256 (in the
settings table, key ``api-token:<sha256>``), with the account it acts as and when it
expires. Kept in the database rather than in memory so that a token works on every
node's API and survives a restart of Cisco Tomcat or of ``serve`` (a script that
restarts Tomcat must not lose its credentials half-way). The account's role is read
at each use: removing the account ends its tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request

from uccerts.api.native_auth import Caller, bearer_token
from uccerts.api.native_models import TokenIn, TokenOut
from uccerts.errors import Forbidden, UsageError
from uccerts.http.security import Principal
from uccerts.services.context import resolve_cluster
from uccerts.services.views import iso

if TYPE_CHECKING:
    from uccerts.bootstrap import Services

KEY_PREFIX = "api-token:"
TOKEN_PREFIX = "ucc_"
MAX_TTL_HOURS = 24 * 365


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: str
    user: str
    role: str
    expires: str

    def to_dict(self) -> dict[str, str]:
        return {"token": self.token, "token_type": "Bearer", "user": self.user,
                "role": self.role, "expires": self.expires}


class TokenStore:
    def __init__(self, services: Services) -> None:
        self._services = services

    def issue(self, principal: Principal, ttl_hours: int, description: str = "") -> Issued:
        if not 1 <= ttl_hours <= MAX_TTL_HOURS:
            raise UsageError(f"ttl_hours {ttl_hours} is out of range", code="invalid-ttl",
                             fix=f"Give 1 to {MAX_TTL_HOURS} hours")
        acting = self._services.acting_as(principal.username, "api")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = acting.ctx.clock()
        expires = now + dt.timedelta(hours=ttl_hours)
        record = {"user": principal.username, "created": iso(now), "expires": iso(expires),
                  "description": description[:200], "revoked": False}
        with acting.ctx.uow() as uow:
            cluster = resolve_cluster(uow, acting.ctx.cluster).name
            uow.settings.put(KEY_PREFIX + digest(token), json.dumps(record).encode())
            acting.ctx.audit(uow, cluster, "api token create", "ok",
                             detail=f"expires {iso(expires)}"
                                    + (f"; {description[:200]}" if description else ""))
            uow.commit()
        return Issued(token, principal.username, principal.role, iso(expires))

    def verify(self, token: str) -> Principal | None:
        """The principal a token acts as, or None (unknown, expired, revoked, or its
        account is gone)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        ctx = self._services.ctx
        with ctx.read() as uow:
            raw = uow.settings.get(KEY_PREFIX + digest(token))
            record = _record(raw)
            if record is None or record.get("revoked") or _expired(record, ctx.clock()):
                return None
            found = uow.accounts.get(str(record.get("user", "")))
        if found is None:
            return None
        return Principal(str(record["user"]), found[0], "token")

    def revoke(self, token: str, principal: Principal) -> None:
        acting = self._services.acting_as(principal.username, "api")
        key = KEY_PREFIX + digest(token)
        with acting.ctx.uow() as uow:
            record = _record(uow.settings.get(key))
            if record is None:
                return
            record["revoked"] = True
            uow.settings.put(key, json.dumps(record).encode())
            cluster = resolve_cluster(uow, acting.ctx.cluster).name
            acting.ctx.audit(uow, cluster, "api token revoke", "ok")
            uow.commit()


def _record(raw: bytes | None) -> dict[str, object] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _expired(record: dict[str, object], now: dt.datetime) -> bool:
    try:
        expires = dt.datetime.fromisoformat(str(record.get("expires", "")))
    except ValueError:
        return True
    return expires <= now


# ------------------------------------------------------------------ routes

router = APIRouter()


def token_store(request: Request) -> TokenStore:
    store: TokenStore = request.app.state.tokens
    return store


@router.post("/auth/tokens", response_model=TokenOut, status_code=201, tags=["auth"])
def create_token(request: Request, principal: Caller, body: TokenIn | None = None) -> Any:
    """A bearer token acting as the caller (with the caller's role), shown once; only
    its SHA-256 is stored. Ask with HTTP Basic (or a console session), not a token."""
    if principal.via == "token":
        raise Forbidden("A token cannot issue tokens", code="token-from-token",
                        fix="Ask with HTTP Basic credentials")
    options = body or TokenIn()
    return token_store(request).issue(principal, options.ttl_hours,
                                      options.description).to_dict()


@router.delete("/auth/tokens/current", tags=["auth"])
def revoke_token(request: Request, principal: Caller) -> dict[str, Any]:
    """Revoke the bearer token this request carries."""
    token = bearer_token(request)
    if token is None:
        raise UsageError("This request carries no bearer token", code="no-token",
                         fix="Call it with Authorization: Bearer <token>")
    token_store(request).revoke(token, principal)
    return {"revoked": True}
