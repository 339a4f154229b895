"""OS Administration > Security > Certificate Management: the Certificate List with
Find, a certificate's details (decoded, PEM, downloads, Regenerate, Delete for trust),
Generate Self-signed, and Upload Certificate/Certificate chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from uccerts.bootstrap import Services
from uccerts.domain.codec import certificate_der, load_certificates
from uccerts.domain.inspect import summarize_certificate
from uccerts.domain.keys import EC_LENGTHS, HASHES, RSA_LENGTHS
from uccerts.domain.model import Node
from uccerts.domain.purposes import TRUST_STORES, KeyType, is_trust_store, purposes_for
from uccerts.errors import UccertsError, UsageError
from uccerts.http.security import Principal
from uccerts.services.certificates import REGENERATE_WARNING, UPLOAD_OK
from uccerts.services.views import CertView
from uccerts.web.common import read_upload, services_for, where
from uccerts.web.render import Problem, problems, render, warnings_of
from uccerts.web.session import form_writer, viewer

router = APIRouter()

FIELDS = {"certificate": "Certificate", "common_name": "Common Name",
          "issuer": "Issued By", "description": "Description"}
OPERATORS = {"begins": "begins with", "contains": "contains", "ends": "ends with",
             "exact": "is exactly"}
ALL_NODES = "*"
DELETE_CONFIRM = ("You are about to permanently delete this certificate. This action "
                  "cannot be undone. Continue?")
MULTI_SERVER_LABEL = "Multi-server(SAN)"


# ------------------------------------------------------------------ helpers


def identity_purposes(node: Node, *, with_self_signed_only: bool) -> list[str]:
    return [p.name for p in purposes_for(node.role)
            if with_self_signed_only or not p.self_signed_only]


def upload_purposes(node: Node) -> list[str]:
    """What Upload offers: the identity purposes that take a CA-signed certificate on
    this node, then the trust stores the node has."""
    return identity_purposes(node, with_self_signed_only=False) + [
        s.name for s in TRUST_STORES if node.role in s.roles]


def key_lengths(key_type: KeyType) -> tuple[int, ...]:
    return RSA_LENGTHS if key_type is KeyType.RSA else EC_LENGTHS


@dataclass(frozen=True)
class Row:
    view: CertView

    @property
    def usage(self) -> str:
        return "identity" if self.view.type == "own" else "trust"

    @property
    def kind(self) -> str:
        return "Self-signed" if self.view.self_signed else "CA-signed"

    @property
    def distribution(self) -> str:
        return MULTI_SERVER_LABEL if self.view.distribution == "multi-server" \
            else self.view.node

    @property
    def href(self) -> str:
        v = self.view
        base = f"/certificates/{v.node}/{v.purpose}"
        return base if v.type == "own" else f"{base}?file={v.filename}"


def _matches(value: str, op: str, text: str) -> bool:
    value, text = value.lower(), text.lower()
    if op == "begins":
        return value.startswith(text)
    if op == "ends":
        return value.endswith(text)
    if op == "exact":
        return value == text
    return text in value


def _field(view: CertView, name: str) -> str:
    return {"certificate": view.purpose, "common_name": view.common_name,
            "issuer": view.issuer, "description": view.description}[name]


@dataclass(frozen=True)
class Find:
    node: str = ""
    field: str = "certificate"
    op: str = "begins"
    q: str = ""
    type: str = ""
    expires: str = ""

    def checked(self) -> Find:
        if self.field not in FIELDS or self.op not in OPERATORS:
            raise UsageError("Unknown Find criteria", code="invalid-find",
                             fix="Choose a field and an operator from the lists")
        if self.type not in ("", "own", "trust"):
            raise UsageError(f"Unknown type '{self.type}'", code="invalid-type",
                             fix="Use own (identity) or trust")
        if self.expires and not (self.expires.isdigit() and int(self.expires) <= 36500):
            raise UsageError(f"'{self.expires}' is not a number of days",
                             code="invalid-expires", fix="Give whole days, 0 to 36500")
        return self


def _list_page(request: Request, principal: Principal, find: Find, *, status: int = 200,
               message: str = "", errors: list[Problem] | None = None) -> Response:
    services = services_for(request, principal)
    place = where(request, services, None if find.node == ALL_NODES else find.node or None)
    rows: list[Row] = []
    try:
        find = find.checked()
        views = services.certificates.list(
            None if find.node == ALL_NODES else place.node.hostname, None,
            find.type or None,
            expiring_within_days=int(find.expires) if find.expires else None)
        if find.q.strip():
            views = [v for v in views if _matches(_field(v, find.field), find.op,
                                                  find.q.strip())]
        rows = [Row(v) for v in views]
    except UccertsError as err:
        errors = [*(errors or []), *problems(err)]
        status = err.http_status
    return render(request, "cert_list.html", status=status, rows=rows, find=find,
                  place=place, fields=FIELDS, operators=OPERATORS, all_nodes=ALL_NODES,
                  message=message, errors=errors or [], now=services.now().isoformat())


# ------------------------------------------------------------------ list and details


@router.get("/")
def home(principal: Principal = Depends(viewer)) -> Response:
    return Response(status_code=303, headers={"Location": "/certificates"})


@router.get("/certificates")
def certificate_list(request: Request, principal: Principal = Depends(viewer),
                     node: str = "", field: str = "certificate", op: str = "begins",
                     q: str = "", type: str = "", expires: str = "") -> Response:
    return _list_page(request, principal, Find(node, field, op, q, type, expires))


def _detail(request: Request, services: Services, node: str, purpose: str,
            file: str | None, **values: Any) -> Response:
    view = services.certificates.show(node, purpose, file or None)
    place = where(request, services, view.node)
    summary = summarize_certificate(load_certificates(view.pem.encode())[0])
    return render(request, "cert_detail.html", view=view, row=Row(view), summary=summary,
                  place=place, warning=REGENERATE_WARNING.format(purpose=view.purpose),
                  delete_confirm=DELETE_CONFIRM, **values)


@router.get("/certificates/{node}/{purpose}")
def certificate_detail(request: Request, node: str, purpose: str,
                       file: str = "", principal: Principal = Depends(viewer)) -> Response:
    return _detail(request, services_for(request, principal), node, purpose, file)


@router.get("/certificates/{node}/{purpose}/download")
def certificate_download(request: Request, node: str, purpose: str, file: str = "",
                         format: str = Query("pem", pattern="^(pem|der)$"),
                         principal: Principal = Depends(viewer)) -> Response:
    view = services_for(request, principal).certificates.show(node, purpose, file or None)
    stem = view.filename.rsplit(".", 1)[0]
    if format == "der":
        body = certificate_der(load_certificates(view.pem.encode())[0])
        media, name = "application/pkix-cert", f"{stem}.der"
    else:
        body, media, name = view.pem.encode(), "application/x-pem-file", f"{stem}.pem"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@router.post("/certificates/{node}/{purpose}/regenerate")
def certificate_regenerate(request: Request, node: str, purpose: str,
                           principal: Principal = Depends(form_writer)) -> Response:
    services = services_for(request, principal)
    try:
        result = services.certificates.regenerate(node, purpose)
    except UccertsError as err:
        return _detail(request, services, node, purpose, None, errors=problems(err))
    return _detail(request, services, result.view.node, result.view.purpose, None,
                   message=result.message, restarts=result.services_to_restart)


@router.post("/certificates/{node}/{store}/delete")
def certificate_delete(request: Request, node: str, store: str, file: str = Form(""),
                       principal: Principal = Depends(form_writer)) -> Response:
    services = services_for(request, principal)
    try:
        removed = services.certificates.delete(node, store, file)
    except UccertsError as err:
        if is_trust_store(store) and file:
            return _detail(request, services, node, store, file, errors=problems(err))
        return _list_page(request, principal, Find(node), status=err.http_status,
                          errors=problems(err))
    nodes = ", ".join(sorted({r.node for r in removed}))
    return _list_page(request, principal, Find(node),
                      message=f"Deleted {store}/{file} on {nodes}")


# ------------------------------------------------------------------ self-signed


def _self_signed_page(request: Request, services: Services, node: str, purpose: str,
                      status: int = 200, **values: Any) -> Response:
    place = where(request, services, node or None)
    choices = identity_purposes(place.node, with_self_signed_only=True)
    chosen = next((p for p in purposes_for(place.node.role)
                   if p.name.lower() == purpose.lower()), None) or \
        next(p for p in purposes_for(place.node.role) if p.name == choices[0])
    return render(request, "self_signed.html", status=status, place=place, choices=choices,
                  chosen=chosen, lengths=key_lengths(chosen.key_type), hashes=list(HASHES),
                  warning_template=REGENERATE_WARNING,
                  warning=REGENERATE_WARNING.format(purpose=chosen.name), **values)


@router.get("/certificates/generate-self-signed")
def self_signed_form(request: Request, node: str = "", purpose: str = "tomcat",
                     principal: Principal = Depends(viewer)) -> Response:
    return _self_signed_page(request, services_for(request, principal), node, purpose)


@router.post("/certificates/generate-self-signed")
def self_signed_submit(request: Request, node: str = Form(""), purpose: str = Form(""),
                       key_length: str = Form(""), hash_name: str = Form(""),
                       principal: Principal = Depends(form_writer)) -> Response:
    services = services_for(request, principal)
    try:
        if key_length and not key_length.isdigit():
            raise UsageError(f"Key length '{key_length}' is not a number",
                             code="invalid-key-length", fix="Choose a key length")
        result = services.certificates.regenerate(
            node or where(request, services).node.hostname, purpose,
            key_length=int(key_length) if key_length else None, hash_name=hash_name or None)
    except UccertsError as err:
        return _self_signed_page(request, services, node, purpose, status=err.http_status,
                                 errors=problems(err))
    return _self_signed_page(request, services, node, purpose, result=result,
                             row=Row(result.view))


# ------------------------------------------------------------------ upload


def _upload_page(request: Request, services: Services, node: str, purpose: str,
                 status: int = 200, **values: Any) -> Response:
    place = where(request, services, node or None)
    return render(request, "upload.html", status=status, place=place,
                  choices=upload_purposes(place.node), chosen=purpose, **values)


@router.get("/certificates/upload")
def upload_form(request: Request, node: str = "", purpose: str = "",
                principal: Principal = Depends(viewer)) -> Response:
    return _upload_page(request, services_for(request, principal), node, purpose)


def _upload(request: Request, principal: Principal, node: str, purpose: str,
            description: str, data: bytes, read_error: UccertsError | None) -> Response:
    services = services_for(request, principal)
    keep = {"description": description}
    try:
        if read_error is not None:
            raise read_error
        if not purpose:
            raise UsageError("Choose a Certificate Purpose", code="purpose-required",
                             fix="Select the purpose or trust store to upload to")
        if not data:
            raise UsageError("Choose a file to upload", code="file-required",
                             fix="Browse to the certificate file the CA returned")
        result = services.certificates.upload(
            node or where(request, services).node.hostname, purpose, data,
            description.strip() or None)
    except UccertsError as err:
        return _upload_page(request, services, node, purpose, status=err.http_status,
                            errors=problems(err), values=keep)
    targets = sorted({i.node for i in result.installed if i.purpose == result.purpose})
    return _upload_page(request, services, node, result.purpose, result=result,
                        success=f"{UPLOAD_OK}: {result.purpose} on "
                                f"{', '.join(targets) or result.node}",
                        warnings=warnings_of(result.warnings), values={})


@router.post("/certificates/upload")
async def upload_submit(request: Request, node: str = Form(""), purpose: str = Form(""),
                        description: str = Form(""), file: UploadFile | None = File(None),
                        principal: Principal = Depends(form_writer)) -> Response:
    read_error: UccertsError | None = None
    data = b""
    try:
        data = await read_upload(file, "certificate file")
    except UccertsError as err:
        read_error = err
    return await run_in_threadpool(_upload, request, principal, node, purpose, description,
                                   data, read_error)

