"""The native REST API under ``/api/v1``: every service operation, on the node named in
the path, with OpenAPI at ``/api/v1/openapi.json`` and docs at ``/api/v1/docs``.

    native_auth          who calls (Basic, bearer token, console session + CSRF)
    native_tokens        bearer tokens
    native_cluster       cluster, nodes, web-security, audit, accounts, ping
    native_certificates  certificates and CSRs (native_upload: upload bodies)
    native_runtime       services (Control Center) and phones, through ``ctx.control``
    native_tools         decode, match, check
    problems             every error as application/problem+json, mapped once
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from uccerts.api import (
    native_certificates,
    native_cluster,
    native_runtime,
    native_tokens,
    native_tools,
)
from uccerts.api.native_auth import AuthGate
from uccerts.api.native_listing import Listing
from uccerts.api.native_models import Problem
from uccerts.api.problems import PROBLEM, install_problem_handlers
from uccerts.http.context import AppContext

DESCRIPTION = """Certificate management of the cluster, node by node (`/nodes/{node}/...`).

Every route needs credentials: HTTP Basic with a uccerts account, a bearer token from
`POST /auth/tokens`, or the console's session (changes then need `X-CSRF-Token`).
Changes need a read-write account. Errors are `application/problem+json` (RFC 9457)
with a stable `code`, a `fix`, and for refused uploads every `finding`.
"""

SECURITY_SCHEMES = {
    "basic": {"type": "http", "scheme": "basic"},
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "A token from POST /api/v1/auth/tokens"},
    "session": {"type": "apiKey", "in": "cookie", "name": "uccerts_session",
                "description": "The console's session; changes also need X-CSRF-Token"},
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "model": Problem}
    for status, text in ((400, "Bad request or refused upload (findings)"),
                         (401, "No or wrong credentials"), (403, "Read-only account, or CSRF"),
                         (404, "Unknown node, purpose or file"), (409, "Refused by a rule"),
                         (422, "A field does not fit the schema"),
                         (503, "The cluster is not running"))
}


def create_native(ctx: AppContext) -> FastAPI:
    app = FastAPI(title="uccerts API", version="1", description=DESCRIPTION,
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.ctx = ctx
    app.state.tokens = native_tokens.TokenStore(ctx.services)
    app.state.listing = Listing(ctx.services)
    for module in (native_cluster, native_certificates, native_runtime, native_tools,
                   native_tokens):
        app.include_router(module.router, responses=COMMON_RESPONSES)
    install_problem_handlers(app)
    app.add_middleware(AuthGate, tokens=app.state.tokens)
    _document(app)
    return app


def _document(app: FastAPI) -> None:
    """OpenAPI: the security schemes, and error answers as problem+json."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {})
            components["securitySchemes"] = SECURITY_SCHEMES
            schema["security"] = [{"basic": []}, {"bearer": []}, {"session": []}]
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    for status, response in operation.get("responses", {}).items():
                        if str(status)[0] in "45":
                            response["content"] = {PROBLEM: {"schema": PROBLEM_REF}}
            for unused in ("HTTPValidationError", "ValidationError"):
                components.get("schemas", {}).pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
