"""Tools (decode, match, check: domain.md §11, by paste or file) and the Audit log.

The tools change nothing and store nothing (a pasted private key is used to compute
its public-key hash and forgotten), so read-only accounts may use them; their forms
carry the session's CSRF token all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from uccerts.errors import InvalidInput, UccertsError, UsageError
from uccerts.http.security import Principal
from uccerts.services.audit import audit_view
from uccerts.services.tools import check_purposes, parse_san_match
from uccerts.web.common import pasted_or_file, read_upload, services_for
from uccerts.web.render import from_finding, problems, render, summary_rows
from uccerts.web.session import form_user, viewer

router = APIRouter()
CHECK_PURPOSES = check_purposes()


def _page(request: Request, tool: str = "", status: int = 200, **values: Any
          ) -> Response:
    return render(request, "tools.html", status=status, tool=tool, purposes=CHECK_PURPOSES,
                  **values)


@router.get("/tools")
def tools(request: Request, principal: Principal = Depends(viewer)) -> Response:
    return _page(request)


def _required(data: bytes, what: str) -> bytes:
    if not data:
        raise UsageError(f"Paste the {what} or choose its file", code="input-required",
                         fix=f"Give the {what} as PEM text, or a PEM, DER or PKCS#7 file")
    return data


def _run(request: Request, tool: str, work: Callable[[], dict[str, Any]]) -> Response:
    try:
        return _page(request, tool, **work())
    except UccertsError as err:
        return _page(request, tool, status=err.http_status, errors=problems(err))


@router.post("/tools/decode")
async def decode(request: Request, text: str = Form(""), file: UploadFile | None = File(None),
                 principal: Principal = Depends(form_user)) -> Response:
    try:
        data = pasted_or_file(text, await read_upload(file))
    except UccertsError as err:
        return _page(request, "decode", status=err.http_status, errors=problems(err))

    tools = services_for(request, principal).tools

    def work() -> dict[str, Any]:
        decoded = tools.decode(_required(data, "certificate or CSR"))
        return {"decoded": [(s.title, summary_rows(s)) for s in decoded.summaries]}

    return await run_in_threadpool(_run, request, "decode", work)


@router.post("/tools/match")
async def match(request: Request, cert_text: str = Form(""),
                cert_file: UploadFile | None = File(None), other: str = Form("csr"),
                other_text: str = Form(""), other_file: UploadFile | None = File(None),
                principal: Principal = Depends(form_user)) -> Response:
    try:
        cert_data = pasted_or_file(cert_text, await read_upload(cert_file))
        other_data = pasted_or_file(other_text, await read_upload(other_file))
    except UccertsError as err:
        return _page(request, "match", status=err.http_status, errors=problems(err))

    tools = services_for(request, principal).tools

    def work() -> dict[str, Any]:
        if other not in ("key", "csr"):
            raise UsageError("Compare with a private key or a CSR", code="usage")
        cert = _required(cert_data, "certificate")
        what = "private key" if other == "key" else "CSR"
        given = _required(other_data, what)
        result = (tools.match(cert, key=given) if other == "key"
                  else tools.match(cert, csr=given))
        return {"matched": result}

    return await run_in_threadpool(_run, request, "match", work)


@router.post("/tools/check")
async def check(request: Request, purpose: str = Form("tomcat"), csr_text: str = Form(""),
                csr_file: UploadFile | None = File(None), cert_text: str = Form(""),
                cert_file: UploadFile | None = File(None), ca_text: str = Form(""),
                ca_files: list[UploadFile] | None = File(None),
                san_match: str = Form("exact"), strict: str = Form(""),
                principal: Principal = Depends(form_user)) -> Response:
    try:
        csr_data = pasted_or_file(csr_text, await read_upload(csr_file))
        cert_data = pasted_or_file(cert_text, await read_upload(cert_file))
        ca_data = [await read_upload(f, "CA file") for f in ca_files or []]
    except UccertsError as err:
        return _page(request, "check", status=err.http_status, errors=problems(err))
    if ca_text.strip():
        ca_data.append(ca_text.strip().encode())

    tools = services_for(request, principal).tools

    def work() -> dict[str, Any]:
        tools.check_purpose(purpose)  # usage problems first, then the files
        parse_san_match(san_match)
        checked = tools.check(purpose, certificate=_required(cert_data, "certificate"),
                              csr=_required(csr_data, "CSR"),
                              ca=[data for data in ca_data if data],
                              san_match=san_match, strict=bool(strict))
        verdict = checked.verdict
        return {"checked": checked.purpose, "verdict_ok": verdict.ok,
                "findings": [from_finding(f) for f in (*verdict.errors, *verdict.warnings)]}

    return await run_in_threadpool(_run, request, "check", work)


# ------------------------------------------------------------------ audit log


@router.get("/audit")
def audit_log(request: Request, limit: str = "100",
              principal: Principal = Depends(viewer)) -> Response:
    services = services_for(request, principal)
    if not limit.isdigit():
        raise InvalidInput(f"'{limit}' is not a number of entries", code="invalid-limit",
                           fix="Give a whole number from 1 to 10000")
    rows = [audit_view(e) for e in services.audit.entries(int(limit))]
    return render(request, "audit.html", rows=rows, limit=int(limit))
