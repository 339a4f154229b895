"""The appliance-compatible certmgr API (domain.md §13), for scripts written against
``/platformcom/api/v1/certmgr/config`` on a real node.

It acts on the node whose Cisco Tomcat serves it. Every route, ``/snapshot/*``
included, wants HTTP Basic of a uccerts account (no loopback exception); read-only
accounts may GET, changes need read-write. Every answer is JSON: 200 on success, a
4xx ``{"code", "message", "messages"}`` on refusal, where ``messages`` holds one line
per finding in the appliance's words (domain.md §5). Errors are mapped once, by the
exception handlers below. Changes run as the caller (``acting_as(user, "api")``), so
each is one audit entry with that user and source ``api``.

``trackingId`` (in ``/snapshot/server``): a fresh random identifier per response, as
the appliance sends one; uccerts keeps nothing under it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from uccerts.api import platformcom_io as io
from uccerts.api.platformcom_options import options as offered
from uccerts.domain.checks import pick_leaf
from uccerts.domain.codec import csr_pem, load_certificates
from uccerts.domain.csr import CsrOptions
from uccerts.domain.purposes import TRUST_STORES, KeyType
from uccerts.errors import FindingsError, InvalidInput, Throttled, UccertsError, Unauthorized
from uccerts.http.auth import identify, require_write
from uccerts.http.context import AppContext
from uccerts.http.problems import error_headers
from uccerts.services.certificates import UPLOAD_OK

if TYPE_CHECKING:
    from uccerts.bootstrap import Services

COMPAT_BASE = "/platformcom/api/v1/certmgr/config"
REALM = 'Basic realm="CMPlatform Realm"'
TRUST_UPLOAD_OK = "Trust certificate upload operation successful"


def create_compat(ctx: AppContext) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    _install_error_handlers(app)
    routes = _Routes(ctx)
    for method, path, endpoint in (
        ("GET", "/snapshot/server", routes.snapshot),
        ("POST", "/csr", routes.generate_csr),
        ("GET", "/csr", routes.show_csr),
        ("POST", "/identity/certificates", routes.upload_identity),
        ("GET", "/identity/certificate", routes.show_identity),
        ("GET", "/identity/certificates", routes.list_identities),
        ("GET", "/config/options", routes.options),
        ("GET", "/snapshot/options", routes.options),
        ("POST", "/trust/certificates", routes.upload_trust),
        ("GET", "/trust/certificate", routes.show_trust),
    ):
        # Both spellings are routes of their own: a redirect would lose a POST body
        # with clients that do not follow 307.
        for spelling in (path, f"{path}/"):
            app.add_api_route(spelling, endpoint, methods=[method])
    return app


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def _caller(self, request: Request, *, write: bool) -> Services:
        principal = await identify(request, sessions=False)
        if write:
            require_write(principal)
        return self.ctx.services.acting_as(principal.username, "api")

    # --- reading ---------------------------------------------------------------------

    async def snapshot(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=False)
        return JSONResponse(await run_in_threadpool(_snapshot, services, self.ctx.node))

    async def show_csr(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=False)
        p = io.identity_purpose(io.query_service(request))
        pem = await run_in_threadpool(services.csrs.pem, self.ctx.node, p.name)
        return JSONResponse({"csr": pem})

    async def show_identity(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=False)
        p = io.identity_purpose(io.query_service(request))
        view = await run_in_threadpool(services.certificates.show, self.ctx.node, p.name)
        return JSONResponse({"service": view.purpose, "filename": view.filename,
                             "certificate": view.pem})

    async def list_identities(self, request: Request) -> JSONResponse:
        """GET on the upload route: this node's identities, of one service (``tomcat``:
        tomcat and tomcat-ECDSA) or, without ``service``, all of them."""
        services = await self._caller(request, write=False)
        wanted: set[str] | None = None
        if request.query_params.get("service", "").strip():
            p = io.identity_purpose(io.query_service(request))
            wanted = {p.name} if p.key_type is KeyType.EC else {
                p.name, *(s.name for s in [io.ec_sibling(p)] if s is not None)}
        views = await run_in_threadpool(services.certificates.list, self.ctx.node,
                                        None, "own")
        return JSONResponse({"certificates": [
            {"service": v.purpose, "filename": v.filename, "certificate": v.pem,
             "server": v.node}
            for v in views if wanted is None or v.purpose in wanted]})

    async def options(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=False)
        node = await run_in_threadpool(services.clusters.node, self.ctx.node)
        return JSONResponse(offered(node.hostname, node.role))

    async def show_trust(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=False)
        store = io.store_for(io.query_service(request))
        views = await run_in_threadpool(services.certificates.list, self.ctx.node,
                                        store.name, "trust")
        return JSONResponse({"certificates": [
            {"certificate": v.pem, "filename": v.filename, "service": v.purpose}
            for v in views]})

    # --- changing --------------------------------------------------------------------

    async def generate_csr(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=True)
        body = await io.read_object(request)
        p = io.identity_purpose(io.one_text(body, "service", required=True) or "",
                                io.key_type(body))
        options = CsrOptions(
            distribution=io.distribution(body), common_name=io.text(body, "commonName"),
            extra_sans=tuple(io.text_list(body, "altNames", split=True)),
            key_length=io.integer(body, "keyLength"), hash=io.text(body, "hashAlgorithm"),
            exact_names=True)  # §13: no parent domain or web-security names added
        result = await run_in_threadpool(services.csrs.generate, self.ctx.node, p.name,
                                         options)
        return JSONResponse({"csr": result.pem})

    async def upload_identity(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=True)
        body = await io.read_object(request)
        service = io.one_text(body, "service", required=True) or ""
        data = _bundle(io.text_list(body, "certificates", required=True))
        p = io.identity_purpose(service)
        if p.key_type is KeyType.RSA and _leaf_key_type(data) is KeyType.EC:
            p = io.ec_sibling(p) or p  # none: the key-type check of §5 explains
        result = await run_in_threadpool(services.certificates.upload, self.ctx.node,
                                         p.name, data, io.text(body, "description"))
        own = sorted({i.node for i in result.installed if i.purpose == result.purpose})
        return JSONResponse({
            "message": UPLOAD_OK, "service": result.purpose, "servers": own,
            "trusts": [{"service": i.purpose, "filename": i.filename, "server": i.node}
                       for i in result.installed if i.purpose != result.purpose],
            "restart": [r.to_dict() for r in result.services_to_restart],
            "warnings": [w.message for w in result.warnings]})

    async def upload_trust(self, request: Request) -> JSONResponse:
        services = await self._caller(request, write=True)
        body = await io.read_object(request)
        stores = list(dict.fromkeys(
            io.store_for(s) for s in io.text_list(body, "service", required=True)))
        data = _bundle(io.text_list(body, "certificates", required=True))
        description = io.text(body, "description")

        def upload() -> list[dict[str, str]]:
            if len(stores) > 1:  # all or nothing: every store checks before any changes
                for store in stores:
                    try:
                        services.certificates.validate(self.ctx.node, store.name, data)
                    except UccertsError as err:
                        services.certificates.audit_refused(
                            "trust upload", self.ctx.node, store.name, err)
                        raise
            return [{"service": i.purpose, "filename": i.filename, "server": i.node}
                    for store in stores
                    for i in services.certificates.upload(self.ctx.node, store.name, data,
                                                          description).installed]

        installed = await run_in_threadpool(upload)
        return JSONResponse({"message": TRUST_UPLOAD_OK, "certificates": installed})


def _bundle(pems: list[str]) -> bytes:
    """The list's elements as one file (an element may itself hold several blocks;
    clients often drop the final newline)."""
    return "\n".join(pems).encode("utf-8", "replace")


def _leaf_key_type(data: bytes) -> KeyType | None:
    """EC when the file's leaf has an EC key: ``{"service": "tomcat"}`` with an EC
    certificate is the tomcat-ECDSA upload."""
    try:
        certs = load_certificates(data)
    except InvalidInput:  # unreadable: the upload refuses it (and audits the refusal)
        return None
    leaf = pick_leaf(certs, allow_ca=True)
    if leaf is None:
        return None
    try:
        return KeyType.EC if isinstance(leaf.public_key(), ec.EllipticCurvePublicKey) else None
    except ValueError:  # an unsupported key: the upload's checks say so
        return None


def _snapshot(services: Services, hostname: str) -> dict[str, Any]:
    node = services.clusters.node(hostname)
    views = services.certificates.list(node.hostname)
    csrs = {c.purpose: csr_pem(c.csr) for c in services.csrs.list(node.hostname)}
    trusts: dict[str, list[dict[str, str]]] = {
        s.name: [] for s in TRUST_STORES if node.role in s.roles}
    identities = []
    for v in views:
        if v.type == "own":
            identities.append({"service": v.purpose, "certificate": v.pem,
                               "csr": csrs.get(v.purpose)})
        else:
            trusts.setdefault(v.purpose, []).append({"filename": v.filename,
                                                     "certificate": v.pem})
    return {"server": node.hostname, "trackingId": uuid.uuid4().hex,
            "identities": identities,
            "trusts": [{"service": name, "certificate_data": entries}
                       for name, entries in trusts.items()],
            "revokedCertificates": []}


# --- errors, mapped once ---------------------------------------------------------------


def refusal(status: int, code: str, messages: list[str],
            headers: dict[str, str] | None = None) -> JSONResponse:
    messages = [m for m in messages if m] or ["The request was refused"]
    return JSONResponse({"code": code, "message": messages[0], "messages": messages},
                        status_code=status, headers=headers)


def _unauthorized(err: UccertsError) -> JSONResponse:
    return refusal(401, err.code, [err.message], error_headers(err, REALM))


def _install_error_handlers(app: FastAPI) -> None:
    async def findings(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, FindingsError)
        ordered = [*err.errors, *err.warnings]
        return refusal(err.http_status, err.code, [f.message for f in ordered])

    async def unauthorized(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, Unauthorized)
        return _unauthorized(err)

    async def throttled(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, Throttled)
        return refusal(429, err.code, [err.message], error_headers(err, REALM))

    async def uccerts_error(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, UccertsError)
        return refusal(err.http_status, err.code, [err.message])

    async def invalid_request(_: Request, err: Exception) -> JSONResponse:
        return refusal(400, "bad-request", ["The request is not valid"])

    async def http_error(request: Request, err: Exception) -> JSONResponse:
        # Unknown paths and methods under the base answer 401 too without credentials:
        # the realm guards the whole API, not only the routes that exist.
        assert isinstance(err, HTTPException)
        try:
            await identify(request, sessions=False)
        except Unauthorized as denied:
            return _unauthorized(denied)
        except Throttled as slow:
            return await throttled(request, slow)
        return refusal(err.status_code, "not-found" if err.status_code == 404 else "http",
                       [str(err.detail)], dict(err.headers or {}))

    async def internal(_: Request, err: Exception) -> JSONResponse:
        # A bug, not a refusal: still JSON (clients parse every answer), no internals.
        return refusal(500, "internal-error", ["Internal error"])

    app.add_exception_handler(FindingsError, findings)
    app.add_exception_handler(Unauthorized, unauthorized)
    app.add_exception_handler(Throttled, throttled)
    app.add_exception_handler(UccertsError, uccerts_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal)


