"""Output and error rendering without any CLI framework.

The offline tools run on this alone (see ``launch``), so nothing here may import
typer, rich or the services.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uccerts.cli.hints import hint
from uccerts.errors import FindingsError, UccertsError

if TYPE_CHECKING:
    from uccerts.domain.findings import Finding


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(text + "\n")


def read_input(path: str) -> bytes:
    """Read a file argument; ``-`` is standard input. Reading stops just past the
    largest file uccerts accepts, so a wrong 5 GB file is refused, not loaded."""
    from uccerts.domain.codec import MAX_FILE_BYTES

    if path == "-":
        return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    with Path(path).open("rb") as stream:
        return stream.read(MAX_FILE_BYTES + 1)


def report_error(err: UccertsError, as_json: bool) -> int:
    """Print an error (stdout JSON or stderr text, cli.md) and return its exit code."""
    if as_json:
        doc: dict[str, Any] = {"ok": False}
        if isinstance(err, FindingsError):
            doc["errors"] = [f.to_dict() for f in err.errors]
            doc["warnings"] = [f.to_dict() for f in err.warnings]
        else:
            doc["errors"] = [err.to_dict()]
            doc["warnings"] = []
            if (said := hint(err)) is not None:
                doc["errors"][0]["hint"] = said
        emit_json(doc)
    elif isinstance(err, FindingsError):
        write_findings(err.findings)
    else:
        warn(f"error [{err.code}]: {err.message}")
        if err.detail:
            warn(f"  detail: {err.detail}")
        if err.fix:
            warn(f"  fix: {err.fix}")
    if not as_json and (said := hint(err)) is not None:
        warn(f"  hint: {said}")
    return err.exit_code


def write_findings(findings: Sequence[Finding]) -> None:
    """Each finding on stderr: code and message, what the CA added or dropped, the fix."""
    for f in findings:
        warn(f"{'error' if f.is_error else 'warning'} [{f.code}]: {f.message}")
        for key in ("added", "dropped"):
            if f.detail.get(key):
                warn(f"  {key}: {', '.join(f.detail[key])}")
        if f.detail.get("reason") and f.code != "chain-invalid":
            warn(f"  detail: {f.detail['reason']}")
        if f.fix:
            warn(f"  fix: {f.fix}")


def internal_error(exc: Exception) -> UccertsError:
    """A bug, said plainly; nothing is changed (every write is one transaction)."""
    return UccertsError(f"Unexpected internal error ({type(exc).__name__}): {exc}",
                        code="internal-error",
                        fix="Nothing was changed. Run again with UCCERTS_DEBUG=1 and report "
                            "the traceback")


def io_error(exc: OSError) -> UccertsError:
    from uccerts.errors import InvalidInput

    where = f": {exc.filename}" if exc.filename else ""
    return InvalidInput(f"{exc.strerror or exc}{where}", code="io-error",
                        fix="Check the path and its permissions")
