"""Certificates and CSRs of a node (domain.md §4-§7): list, show, download, upload,
regenerate, delete; generate, show, download and list CSRs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from uccerts.api.native_auth import ReadServices, WriteServices
from uccerts.api.native_listing import Listing
from uccerts.api.native_models import (
    Certificate,
    CsrGeneratedOut,
    CsrIn,
    CsrOut,
    RegenerateIn,
    RegenerateOut,
    RemovedOut,
    UploadOut,
)
from uccerts.api.native_upload import UPLOAD_BODY, read_upload
from uccerts.domain.codec import certificate_der, csr_pem, load_certificates
from uccerts.domain.csr import CsrOptions
from uccerts.domain.model import Distribution
from uccerts.errors import UsageError
from uccerts.services.certificates import REGENERATE_WARNING
from uccerts.services.csrs import GENERATED, OVERWRITE_WARNING
from uccerts.services.views import CertView, csr_view

router = APIRouter()

Format = Literal["json", "pem", "der"]
Purpose = Annotated[str | None, Query(max_length=64, description="Purpose or trust store")]
Kind = Annotated[Literal["own", "trust"] | None, Query(alias="type")]
Expires = Annotated[int | None, Query(ge=0, le=36500,
                                      description="Only those expiring within DAYS days")]
FORMAT_DOC = "json (summary and PEM), pem or der (the file)"


def _render(view: CertView, fmt: Format) -> Any:
    if fmt == "json":
        return view.to_dict(with_pem=True)
    stem = view.filename.rsplit(".", 1)[0]
    if fmt == "pem":
        return Response(view.pem, media_type="application/x-pem-file",
                        headers={"Content-Disposition": f'attachment; filename="{stem}.pem"'})
    der = certificate_der(load_certificates(view.pem.encode())[0])
    return Response(der, media_type="application/pkix-cert",
                    headers={"Content-Disposition": f'attachment; filename="{stem}.der"'})


# ------------------------------------------------------------------ certificates


def _listing(request: Request) -> Listing:
    listing: Listing = request.app.state.listing
    return listing


@router.get("/certificates", response_model=list[Certificate], tags=["certificates"])
async def list_certificates(request: Request, services: ReadServices,
                            node: Annotated[str | None, Query(max_length=255)] = None,
                            purpose: Purpose = None, kind: Kind = None,
                            expires_within: Expires = None) -> Response:
    """Every identity and trust certificate of the cluster (filters as `cert list`)."""
    return await _listing(request).answer(request, services, node, purpose, kind,
                                          expires_within)


@router.get("/nodes/{node}/certificates", response_model=list[Certificate],
            tags=["certificates"])
async def node_certificates(node: str, request: Request, services: ReadServices,
                            purpose: Purpose = None, kind: Kind = None,
                            expires_within: Expires = None) -> Response:
    """The node's identity and trust certificates, as the Certificate List shows them
    (with an ETag: If-None-Match answers 304 while nothing changed)."""
    return await _listing(request).answer(request, services, node, purpose, kind,
                                          expires_within)


@router.get("/nodes/{node}/certificates/{purpose}", response_model=Certificate,
            tags=["certificates"],
            responses={200: {"content": {"application/x-pem-file": {},
                                         "application/pkix-cert": {}}}})
def show_identity(node: str, purpose: str, services: ReadServices,
                  format: Annotated[Format, Query(description=FORMAT_DOC)] = "json") -> Any:
    """The node's identity certificate for a purpose."""
    return _render(services.certificates.show(node, purpose), format)


@router.get("/nodes/{node}/certificates/{purpose}/{filename}", response_model=Certificate,
            tags=["certificates"],
            responses={200: {"content": {"application/x-pem-file": {},
                                         "application/pkix-cert": {}}}})
def show_file(node: str, purpose: str, filename: str, services: ReadServices,
              format: Annotated[Format, Query(description=FORMAT_DOC)] = "json") -> Any:
    """One certificate by file name (a trust store entry, or an identity's file)."""
    return _render(services.certificates.show(node, purpose, filename), format)


@router.post("/nodes/{node}/certificates/{purpose}", response_model=UploadOut,
             status_code=201, openapi_extra=UPLOAD_BODY, tags=["certificates"],
             responses={200: {"description": "Dry run: the upload would succeed",
                              "model": UploadOut}})
async def upload(node: str, purpose: str, request: Request, services: WriteServices,
                 dry_run: bool = False, strict: bool = False) -> Any:
    """Upload a CA-signed identity certificate (with its chain) or trust certificates.

    Every check of domain.md §5/§6 runs first; a refusal is a 400 problem listing every
    finding with its code and fix. `dry_run`: check against the node as it is now and
    store nothing. `strict`: missing key usage is an error."""
    data, description = await read_upload(request)
    if dry_run:
        result = await run_in_threadpool(services.certificates.validate, node, purpose, data,
                                         strict=strict)
        return JSONResponse(result.to_dict() | {"dry_run": True})
    result = await run_in_threadpool(services.certificates.upload, node, purpose, data,
                                     description, strict=strict)
    return result.to_dict()


@router.post("/nodes/{node}/certificates/{purpose}/regenerate", response_model=RegenerateOut,
             tags=["certificates"])
def regenerate(node: str, purpose: str, services: WriteServices,
               body: RegenerateIn | None = None) -> Any:
    """A new key and self-signed certificate (replaces a CA-signed one: the warning of
    domain.md §7 is in the answer). Restart the services named for it to be served."""
    options = body or RegenerateIn()
    result = services.certificates.regenerate(node, purpose, key_length=options.key_length,
                                              hash_name=options.hash)
    return {"ok": True, "certificate": result.view.to_dict(),
            "services_to_restart": [r.to_dict() for r in result.services_to_restart],
            "message": result.message,
            "warning": REGENERATE_WARNING.format(purpose=result.view.purpose)}


@router.delete("/nodes/{node}/certificates/{purpose}/{filename}", response_model=RemovedOut,
               tags=["certificates"])
def delete_trust(node: str, purpose: str, filename: str, services: WriteServices) -> Any:
    """Delete a trust certificate (cluster-wide for replicated stores). Identity
    certificates are replaced, never deleted."""
    removed = services.certificates.delete(node, purpose, filename)
    return {"ok": True, "removed": [r.to_dict() for r in removed]}


# ------------------------------------------------------------------ CSRs


@router.get("/csrs", response_model=list[CsrOut], tags=["csrs"])
def list_csrs(services: ReadServices,
              node: Annotated[str | None, Query(max_length=255)] = None) -> Any:
    """Pending CSRs of the cluster (only purposes that have one)."""
    return [csr_view(c) for c in services.csrs.list(node)]


@router.get("/nodes/{node}/csrs", response_model=list[CsrOut], tags=["csrs"])
def node_csrs(node: str, services: ReadServices) -> Any:
    """Pending CSRs of the node."""
    return [csr_view(c) for c in services.csrs.list(node)]


@router.post("/nodes/{node}/csrs", response_model=CsrGeneratedOut, status_code=201,
             tags=["csrs"])
def generate_csr(node: str, body: CsrIn, services: WriteServices) -> Any:
    """Generate the node's CSR for a purpose (every field of domain.md §4); it replaces
    the pending one and its key (`warning` says so)."""
    if body.parent_domain is not None and not body.include_parent_domain:
        raise UsageError("parent_domain and include_parent_domain=false exclude each other",
                         code="conflicting-options", fix="Give one of them")
    options = CsrOptions(distribution=Distribution(body.distribution),
                         common_name=body.common_name, extra_sans=tuple(body.other_domains),
                         parent_domain=body.parent_domain,
                         include_parent_domain=body.include_parent_domain,
                         key_length=body.key_length, hash=body.hash,
                         include_ou=body.include_ou)
    result = services.csrs.generate(node, body.purpose, options)
    return result.to_dict() | {"message": GENERATED,
                               "warning": OVERWRITE_WARNING if result.replaced else None}


@router.get("/nodes/{node}/csrs/{purpose}", response_model=CsrOut, tags=["csrs"])
def show_csr(node: str, purpose: str, services: ReadServices) -> Any:
    """The pending CSR: its fields and PEM (`csr`)."""
    pending = services.csrs.get(node, purpose)
    return csr_view(pending) | {"csr": csr_pem(pending.csr)}


@router.get("/nodes/{node}/csrs/{purpose}/download", tags=["csrs"],
            responses={200: {"content": {"application/pkcs10": {}}}})
def download_csr(node: str, purpose: str, services: ReadServices) -> Response:
    """The pending CSR as a file for the CA."""
    pending = services.csrs.get(node, purpose)
    name = f"{pending.node}-{pending.purpose}.csr"
    return Response(csr_pem(pending.csr), media_type="application/pkcs10",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

