"""Errors of the native API as RFC 9457 problem details (``application/problem+json``).

Mapped once, here, for every route of ``/api/v1``: a uccerts error by its
``http_status`` (with the finding codes of a refused upload), authentication (401 with
a Basic challenge, 403, 429 with ``Retry-After``), request validation (400 malformed
JSON, 422 a field that does not fit, named), unknown routes and methods (404, 405).
Anything else is a bug: a plain 500 problem without internals.

    {"type": "urn:uccerts:error:ca-not-in-trust-store", "title": "Bad Request",
     "status": 400, "detail": "CA certificate is not available in the trust-store",
     "code": "ca-not-in-trust-store", "fix": "...", "instance": "/api/v1/...",
     "findings": [{"code", "message", "fix", "detail", "severity"}]}
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from uccerts.errors import FindingsError, UccertsError
from uccerts.http.problems import error_headers

PROBLEM = "application/problem+json"
TYPE_PREFIX = "urn:uccerts:error:"
REALM = 'Basic realm="uccerts"'


class ProblemResponse(JSONResponse):
    media_type = PROBLEM


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, code: str, detail: str, *, fix: str = "", instance: str = "",
            headers: dict[str, str] | None = None, **extra: Any) -> ProblemResponse:
    body: dict[str, Any] = {"type": TYPE_PREFIX + code, "title": _title(status),
                            "status": status, "detail": detail, "code": code, "fix": fix}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def error_problem(err: UccertsError, instance: str = "") -> ProblemResponse:
    """The one mapping of a uccerts error to a response."""
    headers = error_headers(err, REALM)
    extra: dict[str, Any] = {}
    if isinstance(err, FindingsError):
        extra["findings"] = [f.to_dict() | {"severity": f.severity.value}
                             for f in err.findings]
    elif err.detail:
        extra["reason"] = err.detail
    status = err.http_status
    detail = err.message if status < 500 or status == 503 else "Internal error"
    return problem(status, err.code, detail, fix=err.fix or "", instance=instance,
                   headers=headers or None, **extra)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "pem")`` -> ``pem``; ``("query", "limit")`` -> ``limit``."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError, instance: str = "") -> ProblemResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        reason = next((str(e.get("ctx", {}).get("error", "")) for e in errors), "")
        return problem(400, "malformed-json", f"The request body is not valid JSON: {reason}",
                       fix="Send a JSON document (Content-Type: application/json)",
                       instance=instance)
    fields = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in errors]
    first = fields[0] if fields else {"field": "body", "message": "invalid"}
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return problem(422, "invalid-request", f"{first['field']}: {first['message']}{more}",
                   fix="See the operation's schema in /api/v1/openapi.json",
                   instance=instance, errors=fields)


def http_problem(exc: HTTPException, instance: str = "") -> Response:
    status = exc.status_code
    codes = {404: "not-found", 405: "method-not-allowed", 400: "bad-request",
             413: "request-too-large", 415: "unsupported-media-type"}
    if status == 404:
        detail = "No such API route"
        fix = "See /api/v1/docs for the routes"
    else:
        detail = str(exc.detail or _title(status))
        fix = ""
    if status < 200 or status in (204, 304):
        return Response(status_code=status, headers=exc.headers)
    return problem(status, codes.get(status, f"http-{status}"), detail, fix=fix,
                   instance=instance, headers=dict(exc.headers or {}) or None)


def install_problem_handlers(app: FastAPI) -> None:
    def where(request: Request) -> str:
        return request.url.path

    async def on_uccerts(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UccertsError)
        return error_problem(exc, where(request))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc, where(request))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return http_problem(exc, where(request))

    async def on_bug(request: Request, exc: Exception) -> Response:
        return problem(500, "internal-error", "Internal error",
                       fix="Report it with the time of the request",
                       instance=where(request))

    app.add_exception_handler(UccertsError, on_uccerts)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_bug)
