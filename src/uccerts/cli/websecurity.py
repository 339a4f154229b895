"""``uccerts web-security set|show``: the subject fields of a node (domain.md §7)."""

from __future__ import annotations

import typer

from uccerts.cli.common import emit_json, handled, say, state


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Subject settings of a node's certificates.", no_args_is_help=True)
    app.add_typer(group, name="web-security")

    @group.command("set")
    def set_(
        ctx: typer.Context,
        node: str = typer.Argument(...),
        orgunit: str = typer.Argument(...),
        orgname: str = typer.Argument(...),
        locality: str = typer.Argument(...),
        state_: str = typer.Argument(..., metavar="STATE"),
        country: str = typer.Argument("", help="Two-letter country code"),
        alternate_hostname: list[str] = typer.Option(
            [], "--alternate-hostname", help="Name or IP, becomes a tomcat SAN (repeatable)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Store the subject and regenerate the self-signed tomcat certificate."""
        with handled(as_json):
            from uccerts.domain.model import WebSecurity
            from uccerts.services.views import node_view

            ws = WebSecurity(orgunit, orgname, locality, state_, country,
                             tuple(alternate_hostname))
            result = state(ctx).services().clusters.set_web_security(node, ws)
            if as_json:
                emit_json({"ok": True, "node": node_view(result.node),
                           "regenerated": result.regenerated,
                           "services_to_restart": [r.to_dict()
                                                   for r in result.services_to_restart],
                           "note": result.note})
                return
            say(f"Web security settings stored for {result.node.hostname}.")
            say(result.note)
            for r in result.services_to_restart:
                say(f"  restart {r.node}: {r.service}")

    @group.command("show")
    def show(
        ctx: typer.Context,
        node: str = typer.Argument(...),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """The node's subject settings."""
        with handled(as_json):
            from uccerts.services.views import node_view

            view = node_view(state(ctx).services().clusters.node(node))["web_security"]
            if as_json:
                emit_json(view)
                return
            for label, key in (("OrgUnit", "orgunit"), ("OrgName", "orgname"),
                               ("Locality", "locality"), ("State", "state"),
                               ("Country", "country")):
                say(f"{label + ':':<22}{view[key]}")
            say(f"{'Alternate Host Names:':<22}{', '.join(view['alternate_hostnames'])}")
