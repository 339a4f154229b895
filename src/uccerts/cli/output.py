"""Output and error rendering without any CLI framework.

The offline tools run on this alone (see ``launch``), so nothing here may import
typer, rich or the services.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from uccerts.errors import FindingsError, UccertsError


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(text + "\n")


def read_input(path: str) -> bytes:
    """Read a file argument; ``-`` is standard input."""
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


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
        emit_json(doc)
    elif isinstance(err, FindingsError):
        for f in err.errors:
            warn(f"error [{f.code}]: {f.message}")
            if f.fix:
                warn(f"  fix: {f.fix}")
        for f in err.warnings:
            warn(f"warning [{f.code}]: {f.message}")
    else:
        warn(f"error [{err.code}]: {err.message}")
        if err.detail:
            warn(f"  detail: {err.detail}")
        if err.fix:
            warn(f"  fix: {err.fix}")
    return err.exit_code


def io_error(exc: OSError) -> UccertsError:
    from uccerts.errors import InvalidInput

    where = f": {exc.filename}" if exc.filename else ""
    return InvalidInput(f"{exc.strerror or exc}{where}", code="io-error",
                        fix="Check the path and its permissions")
