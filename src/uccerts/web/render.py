"""Rendering: the Jinja2 templates, the headers every page carries, and the findings of
a refused operation as the page shows them (each message with its fix)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from uccerts.domain.findings import Finding
from uccerts.domain.inspect import CertificateSummary, CsrSummary
from uccerts.errors import FindingsError, UccertsError
from uccerts.http.auth import SESSION_COOKIE, app_context

# Pages are never cached, never framed, and run only this console's own script and
# style (no inline script: the confirmations and live status are in console.js).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
}
NOT_RUNNING = "The cluster is not running: start it with `uccerts serve`."


def environment() -> Environment:
    env = Environment(loader=PackageLoader("uccerts.web", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["short"] = lambda text, n=16: (text or "")[:n]
    env.filters["day"] = lambda iso: (iso or "")[:10]
    env.globals["summary_rows"] = summary_rows
    return env


@dataclass(frozen=True)
class Problem:
    """One line of a page's Status box: a finding or an error, and what to do."""

    severity: str  # "error" | "warning"
    code: str
    message: str
    fix: str = ""
    details: tuple[str, ...] = field(default_factory=tuple)


def _details(detail: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    for key, label in (("added", "Added by the CA"), ("dropped", "Dropped by the CA"),
                       ("csr_sans", "CSR SANs"), ("missing", "Missing"),
                       ("names", "Names")):
        value = detail.get(key)
        if value:
            out.append(f"{label}: {', '.join(map(str, value))}" if isinstance(value, list)
                       else f"{label}: {value}")
    reason = detail.get("reason")
    if reason:
        out.append(f"Detail: {reason}")
    return tuple(out)


def from_finding(finding: Finding) -> Problem:
    return Problem("error" if finding.is_error else "warning", finding.code,
                   finding.message, finding.fix, _details(finding.detail))


def problems(err: UccertsError) -> list[Problem]:
    """Every finding of a refusal (errors first, then warnings), or the one error."""
    if isinstance(err, FindingsError) and err.findings:
        return [from_finding(f) for f in (*err.errors, *err.warnings)]
    return [Problem("error", err.code, err.message, err.fix or "",
                    (f"Detail: {err.detail}",) if err.detail else ())]


def warnings_of(findings: Iterable[Finding]) -> list[Problem]:
    return [from_finding(f) for f in findings]


def render(request: Request, template: str, *, status: int = 200, **values: Any
           ) -> HTMLResponse:
    ctx = app_context(request)
    session = getattr(request.state, "session", None)
    if session is None:  # pages outside a login (error pages) still know who is here
        session = ctx.sessions.get(request.cookies.get(SESSION_COOKIE)) \
            if request.cookies.get(SESSION_COOKIE) else None
    env: Environment = request.app.state.pages
    page = env.get_template(template).render(
        request=request, served_from=ctx.node, user=session.principal if session else None,
        csrf=session.csrf if session else "", path=request.url.path, **values)
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


def secure_headers(response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _when(moment: Any) -> str:
    return f"{moment.astimezone(dt.UTC):%d %b %Y, %H:%M:%S} UTC"


def summary_rows(summary: CsrSummary) -> list[tuple[str, str]]:
    """The seed's "Certificate Summary" / "CSR Summary" as (label, value) rows."""
    rows = [(_RDN_TITLES.get(k, k), v) for k, v in summary.rdns.items()]
    if isinstance(summary, CertificateSummary):
        rows.append(("Issuer", summary.issuer))
    rows.append(("Subject", summary.subject))
    if isinstance(summary, CertificateSummary):
        rows += [("Valid From", _when(summary.not_before)),
                 ("Valid To", _when(summary.not_after)),
                 ("Serial Number", f"{summary.serial_colon_hex} ({summary.serial})"),
                 ("CA Cert", "Yes" if summary.is_ca else "No")]
    rows += [("Key Type", summary.key_type), ("Key Size", f"{summary.key_size} bits"),
             ("Fingerprint (SHA-1)", summary.sha1), ("Fingerprint (MD5)", summary.md5),
             ("SANs", ", ".join(summary.sans) or "(none)"),
             ("Public Key SHA-256", summary.public_key_sha256)]
    return rows


_RDN_TITLES = {"CN": "Common Name (CN)", "OU": "Organizational Unit (OU)",
               "O": "Organization (O)", "L": "Locality (L)", "ST": "State (ST)",
               "C": "Country (C)"}
