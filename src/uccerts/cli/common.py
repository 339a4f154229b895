"""What every command shares: global options, output, and the one error mapping.

Heavy modules (SQLAlchemy, services) are imported inside functions so that the
offline tools start fast (benchmarks/decode_cold_start.py).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from uccerts.errors import FindingsError, UccertsError

if TYPE_CHECKING:
    from uccerts.bootstrap import Services
    from uccerts.config import Settings

T = TypeVar("T")


@dataclass
class CliState:
    home: Path | None = None
    db: str | None = None
    cluster: str | None = None
    _services: Services | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        from uccerts.config import Settings

        return Settings.load(home=self.home, db_url=self.db)

    def services(self) -> Services:
        if self._services is None:
            from uccerts.bootstrap import build_services

            self._services = build_services(self.settings(), actor=_actor(), source="cli",
                                            cluster=self.cluster)
        return self._services


def _actor() -> str:
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "cli"


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(text + "\n")


def fail(err: UccertsError, as_json: bool) -> NoReturn:
    """Print an error the one way this face prints errors, then exit with its code."""
    if as_json:
        doc: dict[str, Any] = {"ok": False}
        if isinstance(err, FindingsError):
            doc["errors"] = [f.to_dict() for f in err.errors]
            doc["warnings"] = [f.to_dict() for f in err.warnings]
        else:
            doc["errors"] = [err.to_dict()]
            doc["warnings"] = []
        emit_json(doc)
    else:
        if isinstance(err, FindingsError):
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
    raise typer.Exit(err.exit_code)


@contextmanager
def handled(as_json: bool = False) -> Iterator[None]:
    """Map uccerts errors (and unexpected ones) to output and exit codes."""
    try:
        yield
    except UccertsError as err:
        fail(err, as_json)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except OSError as exc:
        from uccerts.errors import InvalidInput

        fail(InvalidInput(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
                          code="io-error", fix="Check the path and its permissions"), as_json)


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Plain aligned columns: readable in a terminal, a pipe or a log, and grep-able."""
    if not rows:
        say("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    say(line(headers))
    say(line(["-" * w for w in widths]))
    for row in rows:
        say(line(row))


def read_input(path: str) -> bytes:
    """Read a file argument; ``-`` is standard input."""
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def run_command(as_json: bool, action: Callable[[], T]) -> T:
    with handled(as_json):
        return action()
    raise AssertionError("unreachable")  # pragma: no cover
