"""``uccerts drf backup start|stop|status``: the lab's stand-in for a Disaster Recovery
System backup in progress.

No backup is taken: ``start`` marks one as running for the cluster and ``stop`` marks
it finished, so that an ipsec runbook is refused while it "runs" (guard
``backup-running``, lifted with ``--ignore-backup``; domain.md §10).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from uccerts.cli.common import emit_json, handled, say, state

if TYPE_CHECKING:
    from uccerts.services.drf import BackupStatus, DrfService

_JSON = typer.Option(False, "--json", help="Print one JSON document")


def _service(ctx: typer.Context) -> DrfService:
    return state(ctx).services().drf


def _show(result: BackupStatus, as_json: bool, text: str) -> None:
    if as_json:
        emit_json(result.to_dict())
    else:
        say(text)


def register(app: typer.Typer) -> None:
    drf = typer.Typer(help="Disaster Recovery System (lab stand-in: marks a backup as "
                           "running, takes none).", no_args_is_help=True)
    backup = typer.Typer(help="A backup in progress, as the ipsec guard sees it.",
                         no_args_is_help=True)
    drf.add_typer(backup, name="backup")
    app.add_typer(drf, name="drf")

    @backup.command("start")
    def start(ctx: typer.Context, as_json: bool = _JSON) -> None:
        """Mark a backup as running: ipsec runbooks are refused until it stops."""
        with handled(as_json):
            result = _service(ctx).start()
            _show(result, as_json, f"Backup of cluster {result.cluster} marked running "
                                   "(lab stand-in; no backup is taken). ipsec runbooks are "
                                   "refused until `uccerts drf backup stop`.")

    @backup.command("stop")
    def stop(ctx: typer.Context, as_json: bool = _JSON) -> None:
        """Mark the running backup as finished."""
        with handled(as_json):
            result = _service(ctx).stop()
            _show(result, as_json, f"Backup of cluster {result.cluster} marked finished."
                  if result.changed else f"No backup of cluster {result.cluster} was "
                                         "running; nothing changed.")

    @backup.command("status")
    def status(ctx: typer.Context, as_json: bool = _JSON) -> None:
        """Whether a backup is marked running."""
        with handled(as_json):
            result = _service(ctx).status()
            since = f" since {result.to_dict()['since']}" if result.since else ""
            _show(result, as_json, f"Backup of cluster {result.cluster}: "
                  + (f"running{since}" if result.running else "not running"))
