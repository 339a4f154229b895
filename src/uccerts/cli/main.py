"""The ``uccerts`` command: global options and the command groups (cli.md).

Exit codes: 0 success; 1 refused or problems found; 2 usage error; 3 system failure.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from uccerts.cli.common import CliState

app = typer.Typer(
    name="uccerts",
    help="Certificate management for Unified Communications clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def main(
    ctx: typer.Context,
    home: Path | None = typer.Option(None, "--home", envvar="UCCERTS_HOME",
                                     help="Data folder (database, master key). Default ~/.uccerts"),
    db: str | None = typer.Option(None, "--db", envvar="UCCERTS_DB",
                                  help="SQLAlchemy URL. Default sqlite:///<home>/uccerts.db"),
    cluster: str | None = typer.Option(None, "--cluster", envvar="UCCERTS_CLUSTER",
                                       help="Cluster name (default: the only one)"),
) -> None:
    ctx.obj = CliState(home=home, db=db, cluster=cluster)


# Each module registers its commands on ``app`` when imported; they keep their own
# heavy imports inside the command bodies so that start-up stays fast.
for _module in ("tools", "check", "ca", "cluster", "cert", "csr", "websecurity"):
    try:
        importlib.import_module(f"uccerts.cli.{_module}").register(app)
    except ModuleNotFoundError as exc:  # a face still being built must not break the rest
        if exc.name != f"uccerts.cli.{_module}":
            raise


def run() -> None:
    app()
