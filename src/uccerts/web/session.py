"""Console sessions: who is asking, CSRF on every form, login and logout.

- The session cookie is HttpOnly, Secure and SameSite=Strict, and a new token is made
  at each login (an old one sent along is dropped: no session fixation).
- Every POST form carries its session's CSRF token (``csrf_token``), compared in
  constant time. A missing or wrong token is 403 whatever the role, checked after the
  session (no session: 401) and before the role.
- The login form has no session yet: its token is a double-submit cookie scoped to
  ``/login`` (SameSite=Strict as well), so a page on another site cannot log a browser
  in, and the login itself is throttled per user and client address (``http.auth``).
- A page asked for without a session redirects to ``/login`` (GET, HEAD); anything else
  answers 401. Read-only accounts (the appliance's privilege 0) see every page; a change
  answers 403.
- Only the session cookie counts here: HTTP Basic, which a browser replays on its own,
  would make every form forgeable, so the console does not accept it.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from uccerts.errors import CsrfRejected, LoginRequired, Throttled, Unauthorized
from uccerts.http.auth import (
    SESSION_COOKIE,
    app_context,
    client_address,
    login,
    require_write,
)
from uccerts.http.problems import error_headers
from uccerts.http.security import Principal, Session, csrf_ok
from uccerts.web.render import render

LOGIN_COOKIE = "uccerts_login"
LOGIN_PATH = "/login"
HOME = "/certificates"
CSRF_FIELD = "csrf_token"


def session_of(request: Request) -> Session | None:
    return app_context(request).sessions.get(request.cookies.get(SESSION_COOKIE))


async def viewer(request: Request) -> Principal:
    """Any logged-in account (pages, downloads, JSON for the live status)."""
    session = session_of(request)
    if session is None:
        raise LoginRequired
    request.state.session = session
    return session.principal


async def form_user(request: Request, csrf_token: str = Form("")) -> Principal:
    """A logged-in account posting a form of this session (tools, logout)."""
    principal = await viewer(request)
    if not csrf_ok(request.state.session, csrf_token):
        raise CsrfRejected
    return principal


async def form_writer(principal: Principal = Depends(form_user)) -> Principal:
    """A read-write account posting a form of this session (every change)."""
    return require_write(principal)


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this console only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path == LOGIN_PATH:
        return HOME
    return target


def login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(here, safe='')}", status_code=303)


def _set_cookie(response: Response, name: str, value: str, path: str) -> None:
    response.set_cookie(name, value, path=path, httponly=True, secure=True,
                        samesite="strict")


def _login_page(request: Request, *, next_url: str, status: int = 200,
                error: str = "", fix: str = "", username: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, login_token=token,
                      next_url=next_url, error=error, fix=fix, username=username)
    _set_cookie(response, LOGIN_COOKIE, token, LOGIN_PATH)
    return response


router = APIRouter()


@router.get(LOGIN_PATH)
async def login_page(request: Request, next_url: str = Query(HOME, alias="next")
                     ) -> Response:
    if session_of(request) is not None:
        return RedirectResponse(safe_next(next_url), status_code=303)
    return _login_page(request, next_url=safe_next(next_url))


@router.post(LOGIN_PATH)
async def login_submit(request: Request, username: str = Form(""), password: str = Form(""),
                       csrf_token: str = Form(""), next_url: str = Form(HOME, alias="next")
                       ) -> Response:
    target = safe_next(next_url)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, next_url=target, status=403, username=username,
                           error="The login page has expired or did not come from this "
                                 "server.", fix="Log in again on this page.")
    ctx = app_context(request)
    try:
        principal = await login(ctx, username.strip(), password, client_address(request))
    except Throttled as err:
        response = _login_page(request, next_url=target, status=429, username=username,
                               error=err.message, fix=err.fix or "")
        response.headers.update(error_headers(err, realm=None))
        return response
    except Unauthorized as err:
        return _login_page(request, next_url=target, status=401, username=username,
                           error=err.message, fix=err.fix or "")
    ctx.sessions.drop(request.cookies.get(SESSION_COOKIE))
    token, _ = ctx.sessions.create(principal.username, principal.role)
    response = RedirectResponse(target, status_code=303)
    _set_cookie(response, SESSION_COOKIE, token, "/")
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH, secure=True, httponly=True,
                           samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, _: Principal = Depends(form_user)) -> Response:
    app_context(request).sessions.drop(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True,
                           samesite="strict")
    return response
