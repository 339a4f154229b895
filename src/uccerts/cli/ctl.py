"""``uccerts ctl update``: rebuild the CTL in mixed mode (the appliance's ``utils ctl
update CTLFile``); also the text rendering of every security-mode result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from uccerts.cli.common import emit_json, handled, say, state, table

if TYPE_CHECKING:
    from uccerts.services.security import SecurityResult


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The cluster's CTL (mixed mode).", no_args_is_help=True)
    app.add_typer(group, name="ctl")

    @group.command("update")
    def update(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Rebuild the CTL from the current certificates (after a CallManager or CAPF
        change, before the restarts)."""
        with handled(as_json):
            result = state(ctx).services().security.update_ctl()
            if as_json:
                emit_json(result.to_dict())
                return
            show_security_result(result)


def show_security_result(result: SecurityResult) -> None:
    """What changed, what the CTL lists, and what to do next, in order."""
    say(result.note)
    mode = f"{result.security_mode} ({result.mode})"
    say(f"Cluster {result.cluster}: security mode {mode}")
    if result.ctl_sha256:
        say(f"CTL {result.ctl_sha256}:")
        table(["Role", "Node", "SHA-256"],
              [[r.role, r.node, r.sha256] for r in result.records])
    steps = [f'uccerts service restart {r.node} "{r.service}"'
             for r in result.next_steps.restarts]
    if result.next_steps.reset_phones:
        steps.append("uccerts phones reset, then wait until every phone re-registers "
                     "(uccerts phones status)")
    if steps:
        say("")
        say("Next steps, in order (Cisco TFTP serves the CTL it read when it started):")
        for n, step in enumerate(steps, start=1):
            say(f"  {n}. {step}")
