"""Generate Certificate Signing Request and Download Certificate Signing Request
(domain.md §4), with the dialogs' fields, warnings and success status."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from uccerts.bootstrap import Services
from uccerts.domain.csr import CsrOptions, plan_csr
from uccerts.domain.keys import DEFAULT_LENGTH, HASHES
from uccerts.domain.model import Distribution
from uccerts.domain.purposes import purpose as find_purpose
from uccerts.domain.purposes import purposes_for
from uccerts.errors import InvalidInput, UccertsError, UsageError
from uccerts.http.security import Principal
from uccerts.services.csrs import DOWNLOAD_WARNING, GENERATED, OVERWRITE_WARNING
from uccerts.web.common import read_upload, services_for, where
from uccerts.web.pages_certificates import MULTI_SERVER_LABEL, identity_purposes, key_lengths
from uccerts.web.render import problems, render
from uccerts.web.session import form_user, form_writer, viewer

router = APIRouter()
EC_NOTE = ("**When the Certificate Purpose ending with '-ECDSA' is selected, the "
           "certificate/key type is Elliptic Curve (EC). Otherwise, it is RSA.")
DEFAULT_HASH = "SHA256"


def _distribution(text: str) -> Distribution:
    try:
        return Distribution((text or "this-server").strip().lower())
    except ValueError:
        raise UsageError(f"Unknown distribution '{text}'", code="invalid-distribution",
                         fix="Choose the node or Multi-server(SAN)") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(n for n in re.split(r"[\s,;]+", text) if n)


def _generate_page(request: Request, services: Services, values: dict[str, str],
                   status: int = 200, **extra: Any) -> Response:
    place = where(request, services, values.get("node") or None)
    choices = identity_purposes(place.node, with_self_signed_only=False)
    wanted = values.get("purpose") or "tomcat"
    chosen = next((p for p in purposes_for(place.node.role)
                   if p.name.lower() == wanted.lower() and p.name in choices),
                  find_purpose(choices[0]))
    try:
        dist = _distribution(values.get("distribution", ""))
    except UsageError:
        dist = Distribution.THIS_SERVER
    if chosen.san_scope is None:
        dist = Distribution.THIS_SERVER
    preview = plan_csr(chosen, place.node, place.nodes, place.cluster.domain,
                       CsrOptions(distribution=dist))
    fqdn = {n.hostname: n.fqdn for n in place.nodes}
    auto = [fqdn[n] for n in preview.nodes]
    if dist is Distribution.THIS_SERVER and chosen.family == "tomcat":
        auto += list(place.node.web_security.alternate_hostnames)
    distributions = [("this-server", place.node.hostname)] + (
        [("multi-server", MULTI_SERVER_LABEL)] if chosen.san_scope else [])
    pending = {c.purpose for c in services.csrs.list(place.node.hostname)}
    form = {"common_name": "", "parent_domain": place.cluster.domain, "other_domains": "",
            "key_length": str(DEFAULT_LENGTH[chosen.key_type]), "hash_name": DEFAULT_HASH,
            **{k: v for k, v in values.items() if k not in ("node", "purpose")}}
    return render(request, "csr_generate.html", status=status, place=place,
                  choices=choices, chosen=chosen, distribution=dist.value,
                  distributions=distributions, default_cn=preview.common_name, auto=auto,
                  lengths=key_lengths(chosen.key_type), hashes=list(HASHES), form=form,
                  has_csr=chosen.name in pending, overwrite_warning=OVERWRITE_WARNING,
                  ec_note=EC_NOTE, **extra)


@router.get("/csr/generate")
def generate_form(request: Request, node: str = "", purpose: str = "tomcat",
                  distribution: str = "this-server",
                  principal: Principal = Depends(viewer)) -> Response:
    return _generate_page(request, services_for(request, principal),
                          {"node": node, "purpose": purpose, "distribution": distribution})


def _generate(request: Request, principal: Principal, values: dict[str, str],
              file_names: tuple[str, ...], read_error: UccertsError | None) -> Response:
    services = services_for(request, principal)
    try:
        if read_error is not None:
            raise read_error
        length = values["key_length"].strip()
        if length and not length.isdigit():
            raise UsageError(f"Key length '{length}' is not a number",
                             code="invalid-key-length", fix="Choose a key length")
        parent = values["parent_domain"].strip()
        options = CsrOptions(
            distribution=_distribution(values["distribution"]),
            common_name=values["common_name"].strip() or None,
            extra_sans=_names(values["other_domains"]) + file_names,
            parent_domain=parent or None, include_parent_domain=bool(parent),
            key_length=int(length) if length else None,
            hash=values["hash_name"].strip() or None)
        node = values["node"] or where(request, services).node.hostname
        result = services.csrs.generate(node, values["purpose"], options)
    except UccertsError as err:
        return _generate_page(request, services, values, status=err.http_status,
                              errors=problems(err))
    return _generate_page(request, services, values, result=result, success=GENERATED)


@router.post("/csr/generate")
async def generate_submit(request: Request, node: str = Form(""), purpose: str = Form(""),
                          distribution: str = Form("this-server"),
                          common_name: str = Form(""), parent_domain: str = Form(""),
                          other_domains: str = Form(""), key_length: str = Form(""),
                          hash_name: str = Form(""),
                          other_file: UploadFile | None = File(None),
                          principal: Principal = Depends(form_writer)) -> Response:
    values = {"node": node, "purpose": purpose, "distribution": distribution,
              "common_name": common_name, "parent_domain": parent_domain,
              "other_domains": other_domains, "key_length": key_length,
              "hash_name": hash_name}
    names: tuple[str, ...] = ()
    read_error: UccertsError | None = None
    try:
        data = await read_upload(other_file, "domains file")
        try:
            names = _names(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput("The domains file is not UTF-8 text",
                               code="invalid-domains-file",
                               fix="Give a text file with one host name per line") from None
    except UccertsError as err:
        read_error = err
    return await run_in_threadpool(_generate, request, principal, values, names, read_error)


# ------------------------------------------------------------------ download


def _download_page(request: Request, services: Services, node: str, status: int = 200,
                   **values: Any) -> Response:
    place = where(request, services, node or None)
    pending = services.csrs.list(place.node.hostname)
    return render(request, "csr_download.html", status=status, place=place,
                  pending=pending, warning=DOWNLOAD_WARNING, **values)


@router.get("/csr/download")
def download_form(request: Request, node: str = "",
                  principal: Principal = Depends(viewer)) -> Response:
    return _download_page(request, services_for(request, principal), node)


@router.post("/csr/download")
def download_file(request: Request, node: str = Form(""), purpose: str = Form(""),
                  principal: Principal = Depends(form_user)) -> Response:
    services = services_for(request, principal)
    try:
        hostname = where(request, services, node or None).node.hostname
        pem = services.csrs.pem(hostname, purpose)
        name = find_purpose(purpose).name
    except UccertsError as err:
        return _download_page(request, services, node, status=err.http_status,
                              errors=problems(err))
    return Response(pem.encode(), media_type="application/pkcs10", headers={
        "Content-Disposition": f'attachment; filename="{name}.csr"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
