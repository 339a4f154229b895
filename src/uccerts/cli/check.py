"""``uccerts check``: the upload checks of domain.md §5 offline (cli.md, §11).

No cluster and no home: the CSR plays the pending CSR and the ``--ca`` files play
``<purpose>-trust``. Only ``typer`` and ``uccerts.cli.common`` are imported at module
level; the domain (and ``cryptography``) is imported inside the command, because
every command's start-up pays for what this module imports at the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from uccerts.cli.common import emit_json, handled, read_input, say, warn
from uccerts.cli.output import write_findings

if TYPE_CHECKING:
    from uccerts.domain.checks import UploadVerdict
    from uccerts.domain.findings import Finding
    from uccerts.domain.purposes import Purpose
    from uccerts.errors import InvalidInput

_HELP = """Check a CA-signed certificate against its CSR before uploading it.

Runs the appliance's upload checks for PURPOSE (tomcat, CallManager, ...)
without a cluster: the --csr file plays the pending CSR and the --ca files (root,
intermediates; PEM, DER or PKCS#7) play the PURPOSE's trust store. The --cert file may
also hold the chain, in any order.

Text: every finding with its code, message and fix; errors and warnings on standard
error, the verdict line on standard output when the upload would succeed.

JSON: {"ok": bool, "errors": [...], "warnings": [...]}, each finding with code,
message, detail and fix.

Exit codes: 0 the upload would succeed (warnings allowed); 1 it would be refused,
or a file cannot be read; 2 usage error (unknown purpose, bad option).
"""


def register(app: typer.Typer) -> None:
    app.command("check", help=_HELP)(check)


def check(
    purpose: str = typer.Argument(..., metavar="PURPOSE",
                                  help="Identity purpose, e.g. tomcat or CallManager"),
    csr: str = typer.Option(..., "--csr", metavar="FILE", help='The CSR; "-" for stdin'),
    cert: str = typer.Option(..., "--cert", metavar="FILE",
                             help="The certificate the CA returned (may include the chain)"),
    ca: list[str] = typer.Option([], "--ca", metavar="FILE",
                                 help="CA certificates playing the trust store; repeatable"),
    san_match: str = typer.Option("exact", "--san-match", metavar="exact|superset",
                                  help="superset: accept SANs the CA added to the CSR's"),
    strict: bool = typer.Option(False, "--strict",
                                help="Missing key usage is an error, not a warning"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
) -> None:
    with handled(as_json):
        name, verdict = _run(purpose, csr, cert, ca, san_match, strict)
    _report(verdict.findings, verdict.ok, as_json, name)
    raise typer.Exit(0 if verdict.ok else 1)


def _run(purpose_name: str, csr_file: str, cert_file: str, ca_files: Sequence[str],
         san_match: str, strict: bool) -> tuple[str, UploadVerdict]:
    """(canonical purpose name, verdict). Unreadable files become finding #1 of §5
    (or its CSR twin), reported in the findings' shape like every other problem."""
    from uccerts.domain.checks import UploadVerdict
    from uccerts.errors import UnreadableInput, UsageError
    from uccerts.services.tools import ToolsService, parse_san_match

    tools = ToolsService()  # offline: no home, the system clock
    p = tools.check_purpose(purpose_name)
    parse_san_match(san_match)  # a usage error before any file is read
    if [cert_file, csr_file, *ca_files].count("-") > 1:
        raise UsageError("Only one file can be read from standard input (-)", code="usage",
                         fix="Give the other files by path")
    try:
        checked = tools.check(p.name, certificate=read_input(cert_file),
                              csr=read_input(csr_file),
                              ca=[read_input(path) for path in ca_files],
                              san_match=san_match, strict=strict)
    except UnreadableInput as err:
        option, path = {"certificate": ("--cert", cert_file), "csr": ("--csr", csr_file)
                        }.get(err.field, ("--ca", ca_files[err.index] if ca_files else ""))
        return p.name, UploadVerdict(None, (), (), (_file_finding(err, option, path, p),))
    return checked.purpose, checked.verdict


def _file_finding(err: InvalidInput, option: str, path: str, p: Purpose) -> Finding:
    from uccerts.domain.findings import Finding

    return Finding(err.code, err.message,
                   fix=err.fix or f"Check the file given to {option}",
                   detail={"option": option, "file": path, "reason": err.detail,
                           "purpose": p.name})


def _report(findings: Sequence[Finding], ok: bool, as_json: bool, purpose: str) -> None:
    errors = [f for f in findings if f.is_error]
    warnings = [f for f in findings if not f.is_error]
    if as_json:
        emit_json({"ok": ok, "errors": [f.to_dict() for f in errors],
                   "warnings": [f.to_dict() for f in warnings]})
        return
    write_findings(findings)
    if ok:
        say(f"OK: the certificate can be uploaded for {purpose}"
            + (f" ({len(warnings)} warning(s))" if warnings else ""))
    else:
        warn(f"Refused: {len(errors)} error(s), {len(warnings)} warning(s)")
