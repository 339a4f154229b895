"""Who may call ``/api/v1``: every request is authenticated before it is routed.

Credentials, in this order: ``Authorization: Bearer <token>`` (``native_tokens``), HTTP
Basic, or the console's session cookie (so the console's JavaScript can call the API);
a session-authenticated change (any method but GET/HEAD/OPTIONS) must carry the
session's CSRF token in ``X-CSRF-Token``. Done in a middleware rather than a route
dependency so that nothing about the request (its body, its route) is looked at
before the caller is known. Routes then say whether they need read-write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from uccerts.api.problems import error_problem
from uccerts.bootstrap import Services
from uccerts.errors import Forbidden, UccertsError, Unauthorized
from uccerts.http.auth import app_context, identify, require_write
from uccerts.http.security import Principal, Session, csrf_ok

if TYPE_CHECKING:
    from uccerts.api.native_tokens import TokenStore

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


class AuthGate:
    """ASGI middleware: sets ``request.state.principal`` or answers 401/403/429."""

    def __init__(self, app: ASGIApp, tokens: TokenStore) -> None:
        self.app, self.tokens = app, tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            principal = await self._authenticate(request)
        except UccertsError as err:
            await error_problem(err, request.url.path)(scope, receive, send)
            return
        request.state.principal = principal
        await self.app(scope, receive, send)

    async def _authenticate(self, request: Request) -> Principal:
        token = bearer_token(request)
        if token is not None:
            principal = await run_in_threadpool(self.tokens.verify, token)
            if principal is None:
                raise Unauthorized("The token is unknown, expired or revoked",
                                   code="bad-token",
                                   fix="Get a new one: POST /api/v1/auth/tokens with Basic")
            return principal
        principal = await identify(request, sessions=True)
        if principal.via == "session" and request.method not in SAFE_METHODS:
            session: Session | None = getattr(request.state, "session", None)
            if session is None or not csrf_ok(session, request.headers.get(CSRF_HEADER)):
                raise Forbidden("The request lacks the session's CSRF token",
                                code="csrf-failed",
                                fix="Send the console's CSRF token in the X-CSRF-Token header")
        return principal


async def caller(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


async def writer(request: Request) -> Principal:
    return require_write(await caller(request))


async def reader_services(request: Request) -> Services:
    """The use cases, audited as the caller from source "api"."""
    principal = await caller(request)
    return app_context(request).services.acting_as(principal.username, "api")


async def writer_services(request: Request) -> Services:
    principal = await writer(request)
    return app_context(request).services.acting_as(principal.username, "api")


Caller = Annotated[Principal, Depends(caller)]
Writer = Annotated[Principal, Depends(writer)]
ReadServices = Annotated[Services, Depends(reader_services)]
WriteServices = Annotated[Services, Depends(writer_services)]
