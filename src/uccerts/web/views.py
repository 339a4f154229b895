"""The console: server-rendered pages (Jinja2) over the use cases, with the
appliance's labels and messages, on the node whose Cisco Tomcat serves it.

Errors map to pages once, here: no session → the login page (a GET) or 401; a form
without its CSRF token → 403; a read-only account posting a change → 403; a use case's
refusal → its findings, each with its fix, at the HTTP status of the error.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from uccerts.errors import CsrfRejected, Forbidden, LoginRequired, UccertsError
from uccerts.http.context import AppContext
from uccerts.web import (
    pages_certificates,
    pages_cluster,
    pages_control,
    pages_csr,
    pages_runbooks,
    pages_tools,
)
from uccerts.web import session as web_session
from uccerts.web.render import Problem, environment, problems, render
from uccerts.web.session import login_redirect


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json")


def _error_page(request: Request, status: int, title: str, errors: list[Problem]
                ) -> Response:
    if _wants_json(request):
        return JSONResponse({"message": errors[0].message if errors else title},
                            status_code=status)
    return render(request, "error.html", status=status, title=title, errors=errors)


async def _login_required(request: Request, exc: Exception) -> Response:
    if request.method in ("GET", "HEAD") and not _wants_json(request):
        return login_redirect(request)
    assert isinstance(exc, LoginRequired)
    return _error_page(request, exc.http_status, exc.message, problems(exc))


async def _csrf(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CsrfRejected)
    return _error_page(request, exc.http_status, "Forbidden", problems(exc))


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UccertsError)
    return _error_page(request, 403, "Forbidden", problems(exc))


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UccertsError)
    return _error_page(request, exc.http_status, "Error", problems(exc))


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    text = "Not Found" if exc.status_code == 404 else str(exc.detail)
    return _error_page(request, exc.status_code, text, [Problem(
        "error", "http", text, "Use the menu to find the page")])


async def _invalid(request: Request, exc: Exception) -> Response:
    return _error_page(request, 400, "Bad request", [Problem(
        "error", "invalid-request", "The request is not valid for this page",
        "Use the page's form")])


def create_console(ctx: AppContext) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    app.state.pages = environment()
    app.mount("/static", StaticFiles(packages=[("uccerts.web", "static")]), name="static")
    for module in (web_session, pages_certificates, pages_csr, pages_control,
                   pages_cluster, pages_runbooks, pages_tools):
        app.include_router(module.router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRejected, _csrf)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(UccertsError, _refused)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    return app
