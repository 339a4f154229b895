"""The offline tools' work, free of any CLI framework: ``decode`` and ``match``.

``tools`` exposes them as typer commands; ``launch`` runs them directly (argparse)
so that ``uccerts decode FILE`` starts within twice ``import cryptography.x509``.
Each function prints its result and returns the exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from uccerts.cli.output import (
    emit_json,
    internal_error,
    io_error,
    read_input,
    report_error,
    say,
    warn,
)
from uccerts.errors import UccertsError, UsageError


def _guarded(as_json: bool, work: Callable[[], int]) -> int:
    try:
        return work()
    except UccertsError as err:
        return report_error(err, as_json)
    except BrokenPipeError:
        return 0
    except OSError as exc:
        return report_error(io_error(exc), as_json)
    except Exception as exc:  # a bug: the same plain answer as every other command
        if os.environ.get("UCCERTS_DEBUG"):
            raise
        return report_error(internal_error(exc), as_json)


def decode(file: str, as_json: bool) -> int:
    def work() -> int:
        from uccerts.domain.inspect import render_text
        from uccerts.services.tools import ToolsService

        decoded = ToolsService().decode(read_input(file))
        summaries = decoded.summaries
        if as_json:
            emit_json(decoded.to_json())
            return 0
        for n, summary in enumerate(summaries, 1):
            if n > 1:
                say()
            if len(summaries) > 1:
                say(f"# Certificate {n} of {len(summaries)}")
            say(render_text(summary))
        return 0

    return _guarded(as_json, work)


def match(cert: str, key: str | None, csr: str | None, as_json: bool) -> int:
    def work() -> int:
        from uccerts.services.tools import ToolsService

        if (key is None) == (csr is None):
            raise UsageError("Give exactly one of --key FILE and --csr FILE", code="usage",
                             fix="uccerts match --cert FILE (--key FILE | --csr FILE)")
        if [cert, key, csr].count("-") > 1:
            raise UsageError("Only one file can be read from standard input (-)",
                             code="usage")
        result = ToolsService().match(
            read_input(cert), key=None if key is None else read_input(key),
            csr=None if csr is None else read_input(csr))
        if as_json:
            emit_json(result.to_dict())
        elif result.match:
            say(result.verdict)
            say(result.render_hashes())
        else:
            warn(result.verdict)
            say(result.render_hashes())
        return 0 if result.match else 1

    return _guarded(as_json, work)

