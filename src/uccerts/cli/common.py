"""What every command shares: global options, services, and the one error mapping.

Heavy modules (SQLAlchemy, services) are imported inside functions so that the
offline tools start fast (benchmarks/decode_cold_start.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from uccerts.cli.output import (
    emit_json,
    internal_error,
    io_error,
    read_input,
    report_error,
    say,
    warn,
)
from uccerts.errors import UccertsError

if TYPE_CHECKING:
    from uccerts.bootstrap import Services
    from uccerts.config import Settings
    from uccerts.services.control import Blocking, ClusterControl

T = TypeVar("T")
# A node's web app (console and APIs) for ``serve``: (services, node, control, home) ->
# ASGI app. The CLI may not import the other faces: the launcher hands this in.
AppFactory = Callable[["Services", str, "ClusterControl", "Settings"], Any]


@dataclass
class CliState:
    home: Path | None = None
    db: str | None = None
    cluster: str | None = None
    app_factory: AppFactory | None = field(default=None, repr=False)
    _services: Services | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        from uccerts.config import Settings

        return Settings.load(home=self.home, db_url=self.db)

    def services(self, *, create: bool = False) -> Services:
        """The wired use cases. Only ``create`` (cluster init) may make a new home: a
        mistyped --home must not quietly grow a new, empty store."""
        if self._services is None:
            from uccerts.bootstrap import build_services

            settings = self.settings()
            if not create and settings.needs_home and not settings.home.exists():
                from uccerts.errors import NotFound

                raise NotFound(f"There is no uccerts home at {settings.home}",
                               code="no-home",
                               fix="Create a cluster with `uccerts cluster init --topology "
                                   "FILE`, or point --home / UCCERTS_HOME at the existing one")

            self._services = build_services(self.settings(), actor=_actor(), source="cli",
                                            cluster=self.cluster)
        return self._services


def control(ctx: typer.Context) -> Blocking:
    """The running cluster of this home (no database opened here: serve has it)."""
    from uccerts.services.control import Blocking, SocketControl, Who

    return Blocking(SocketControl(state(ctx).settings().home), Who(_actor(), "cli"))


def _actor() -> str:
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "cli"


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def fail(err: UccertsError, as_json: bool) -> NoReturn:
    """Print an error the one way this face prints errors, then exit with its code."""
    raise typer.Exit(report_error(err, as_json))


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
        fail(io_error(exc), as_json)
    except Exception as exc:
        # A bug: say so plainly. UCCERTS_DEBUG=1 shows the traceback for a report.
        if os.environ.get("UCCERTS_DEBUG"):
            raise
        fail(internal_error(exc), as_json)


def write_atomically(path: Path, data: bytes) -> None:
    """All of the file or none of it: a temporary file beside it, then a rename."""
    import tempfile

    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


__all__ = ["CliState", "control", "emit_json", "fail", "handled", "read_input", "say",
           "state", "table", "warn", "write_atomically"]
