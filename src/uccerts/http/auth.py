"""Who is calling: HTTP Basic (scripts) or a console session (browsers).

Each face decides what a missing or insufficient identity looks like (``Unauthorized``
and ``Forbidden`` are mapped once per interface: problem+json for ``/api/v1``, the
appliance's shape and realm for the compatible API, a redirect to the login page for
the console).
"""

from __future__ import annotations

import asyncio
import base64
import binascii

from starlette.requests import Request

from uccerts.errors import Forbidden, LoginsBusy, Throttled, Unauthorized
from uccerts.http.context import AppContext
from uccerts.http.security import Principal, Throttle

SESSION_COOKIE = "uccerts_session"
RESERVE_POLL_S = 0.02
RESERVE_WAIT_S = 30.0


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def login(ctx: AppContext, username: str, password: str, client: str) -> Principal:
    """Check a password, throttled per user and client address: the attempt is
    reserved before the (slow, awaited) check, so concurrent wrong passwords cannot
    all be checked; the check itself waits its turn among a bounded few."""
    throttle = ctx.logins.throttle
    wait = throttle.retry_after(username, client)
    if wait:
        raise Throttled(wait)
    cached = ctx.credentials.get(username, password)
    if cached is not None:
        return cached
    await _reserve(throttle, username, client)
    cached = ctx.credentials.get(username, password)  # checked while this one waited
    if cached is not None:
        throttle.release(username, client)
        return cached
    try:
        account = await ctx.logins.checks.run(ctx.services.accounts.authenticate,
                                              username, password)
    except BaseException:
        throttle.release(username, client)
        raise
    if account is None:
        throttle.failed(username, client)
        raise Unauthorized("The user name or password is wrong", code="bad-credentials",
                           fix="Check them; accounts are listed by `uccerts admin list`")
    throttle.succeeded(username, client)
    principal = Principal(account.username, account.role, "basic")
    ctx.credentials.put(username, password, principal)
    return principal


async def _reserve(throttle: Throttle, username: str, client: str) -> None:
    """Wait while every attempt left before a lockout is being checked: their
    verdicts decide whether this one may still be tried (``Throttled`` if not)."""
    for _ in range(int(RESERVE_WAIT_S / RESERVE_POLL_S)):
        if throttle.reserve(username, client):
            return
        await asyncio.sleep(RESERVE_POLL_S)
    raise LoginsBusy(1)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode(
            "utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


async def identify(request: Request, *, sessions: bool) -> Principal:
    """The caller from Basic credentials (or, when ``sessions``, the console cookie)."""
    ctx = app_context(request)
    creds = basic_credentials(request)
    if creds is not None:
        return await login(ctx, creds[0], creds[1], client_address(request))
    if sessions:
        session = ctx.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            request.state.session = session
            return session.principal
    raise Unauthorized("Authentication is required", code="unauthenticated",
                       fix="Send HTTP Basic credentials of a uccerts account")


def require_write(principal: Principal) -> Principal:
    if not principal.can_write:
        raise Forbidden(f"{principal.username} is read-only", code="read-only",
                        fix="Use a read-write account for changes")
    return principal
