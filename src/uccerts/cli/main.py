"""The ``uccerts`` command: global options and the command groups (cli.md).

Exit codes: 0 success; 1 refused or problems found; 2 usage error; 3 system failure.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer

from uccerts.cli import (
    admin,
    audit,
    ca,
    cert,
    check,
    cluster,
    csr,
    ctl,
    drf,
    phones,
    runbook,
    serve,
    service,
    tools,
    websecurity,
)
from uccerts.cli.common import CliState

app = typer.Typer(
    name="uccerts",
    help="Certificate management for Unified Communications clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from uccerts import __version__

        typer.echo(f"uccerts {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    home: Path | None = typer.Option(None, "--home", envvar="UCCERTS_HOME",
                                     help="Data folder (database, master key). Default ~/.uccerts"),
    db: str | None = typer.Option(None, "--db", envvar="UCCERTS_DB",
                                  help="SQLAlchemy URL. Default sqlite:///<home>/uccerts.db"),
    cluster: str | None = typer.Option(None, "--cluster", envvar="UCCERTS_CLUSTER",
                                       help="Cluster name (default: the only one)"),
    version: bool = typer.Option(False, "--version", is_eager=True,
                                 callback=_print_version, help="Print the version and exit"),
) -> None:
    given = ctx.obj if isinstance(ctx.obj, CliState) else CliState()  # from the launcher
    ctx.obj = replace(given, home=home, db=db, cluster=cluster)


# Each module adds its commands; they import their heavy modules inside the command
# bodies so that start-up stays fast.
for _module in (tools, check, ca, cluster, cert, csr, websecurity, audit, admin, serve, service,
                phones, ctl, runbook, drf):
    _module.register(app)


def run() -> None:
    """The full application, without the launcher's fast path (see ``launch``)."""
    app()
