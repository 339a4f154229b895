"""``uccerts service …``: the Control Center of a running cluster (cli.md "Running
cluster")."""

from __future__ import annotations

import typer

from uccerts.cli.common import control, emit_json, handled, say, table
from uccerts.domain.control import ServiceAction
from uccerts.domain.purposes import ServiceKind, name_of

ACTIONS = {
    "restart": "Stop and start a service: it loads the node's current certificate.",
    "start": "Start a stopped service.",
    "stop": "Stop a service.",
    "activate": "Activate a service on the node and start it.",
    "deactivate": "Stop a service and mark it NOT ACTIVATED.",
}

_SERVICE_HELP = f'Service name, e.g. "{name_of(ServiceKind.TOMCAT)}"'


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Service states, restarts, activation (needs `uccerts serve`).",
                        no_args_is_help=True)
    app.add_typer(group, name="service")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        node: str = typer.Argument(..., help="Node host name or FQDN"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Every service of NODE: state, port, the certificate it serves now."""
        with handled(as_json):
            rows = [s.to_dict() for s in
                    control(ctx).run(lambda port, who: port.service_status(who, node))]
            if as_json:
                emit_json([{k: r[k] for k in ("service", "state", "port", "certificate_sha256",
                                               "ports", "installed_sha256", "restart_needed")}
                           for r in rows])
                return
            table(["Service", "State", "Port", "Serving (SHA-256)", "Restart needed"],
                  [[r["service"], r["state"], ",".join(map(str, r["ports"])) or
                    (str(r["port"]) if r["port"] else "-"),
                    (r["certificate_sha256"] or "-")[:16],
                    "yes: a new certificate is installed" if r["restart_needed"] else ""]
                   for r in rows])
            for r in rows:
                for text in r.get("warnings", []):
                    say(f"warning: {r['service']}: {text}")

    for action, doc in ACTIONS.items():
        _action_command(group, action, doc)


def _action_command(group: typer.Typer, action: str, doc: str) -> None:
    def command(
        ctx: typer.Context,
        node: str = typer.Argument(..., help="Node host name or FQDN"),
        service: str = typer.Argument(..., help=_SERVICE_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        with handled(as_json):
            # Each state is printed as it happens, as the appliance's CLI does.
            result = control(ctx).run(lambda port, who: port.service(
                who, ServiceAction(action), node, service, on_event=None if as_json else say))
            if as_json:
                emit_json(result.to_dict())

    command.__doc__ = doc
    group.command(action)(command)
