"""API token routes: ``POST /api/v1/auth/tokens`` then ``Authorization: Bearer``.

The use case (issue, verify, revoke; stored as SHA-256 only) is ``services.tokens``;
this module maps it to HTTP: principals in, status codes out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request

from uccerts.api.native_auth import Caller, bearer_token
from uccerts.api.native_models import TokenIn, TokenOut
from uccerts.errors import Forbidden, UsageError
from uccerts.http.security import Principal
from uccerts.services.tokens import Issued

if TYPE_CHECKING:
    from uccerts.bootstrap import Services


class TokenStore:
    """What the authentication gate and the routes ask of tokens, as principals."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def issue(self, principal: Principal, ttl_hours: int, description: str = "") -> Issued:
        acting = self._services.acting_as(principal.username, "api")
        return acting.tokens.issue(principal.role, ttl_hours, description)

    def verify(self, token: str) -> Principal | None:
        owner = self._services.tokens.verify(token)
        return None if owner is None else Principal(owner.user, owner.role, "token")

    def revoke(self, token: str, principal: Principal) -> None:
        self._services.acting_as(principal.username, "api").tokens.revoke(token)


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
