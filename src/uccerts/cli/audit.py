"""``uccerts audit list``: every change and refusal, newest first."""

from __future__ import annotations

import typer

from uccerts.cli.common import emit_json, handled, state, table


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The audit trail.", no_args_is_help=True)
    app.add_typer(group, name="audit")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        limit: int = typer.Option(50, "--limit", help="How many entries, newest first"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Who changed what, when, from where, and the outcome (refused uploads too)."""
        with handled(as_json):
            from uccerts.services.audit import audit_view

            rows = [audit_view(e) for e in state(ctx).services().audit.entries(limit)]
            if as_json:
                emit_json(rows)
                return
            table(["Time", "Actor", "Source", "Node", "Purpose", "Action", "Outcome", "Detail"],
                  [[r["at"], r["actor"], r["source"], r["node"], r["purpose"], r["action"],
                    r["outcome"], r["detail"][:80]] for r in rows])
