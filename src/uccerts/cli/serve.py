"""``uccerts serve``: run the cluster in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from uccerts.cli.common import handled, say, state, warn

if TYPE_CHECKING:
    from uccerts.bootstrap import Services
    from uccerts.cli.common import AppFactory
    from uccerts.config import Settings
    from uccerts.services.control import ClusterControl
    from uccerts.services.serve import Running


_JSON_HELP = "Print where everything listens as one JSON line"


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
    ) -> None:
        """Run every node's services on the node addresses, TFTP/TVS and the phones."""
        with handled(as_json):
            _serve(ctx, state(ctx).services(), as_json)

    @app.command("demo")
    def demo(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
    ) -> None:
        """Create (or reuse) the demo cluster with a lab CA and 20 phones, and run it."""
        with handled(as_json):
            from uccerts.cli.ca import _service as lab_ca
            from uccerts.resources import example_topology

            services = state(ctx).services(create=True)
            if not services.clusters.list():
                created = services.clusters.init(example_topology())
                if not as_json:
                    say(f"Created the demo cluster {created.cluster.name}.")
                    if created.admin_password:
                        say(f"Platform administrator: {created.admin_user}, password "
                            f"(shown once): {created.admin_password}")
            lab_ca(state(ctx).settings()).init()
            _serve(ctx, services, as_json)


def _serve(ctx: typer.Context, services: Services, as_json: bool) -> None:
    def ready(running: Running) -> None:
        if as_json:
            # One line, flushed: a supervisor reading stdout knows it is up.
            sys.stdout.write(json.dumps({
                "cluster": running.cluster, "nodes": list(running.nodes),
                "phones": running.phones, "control": running.socket}) + "\n")
            sys.stdout.flush()
        else:
            print_running(running)

    factory = state(ctx).app_factory
    if factory is None:
        warn("The web console and APIs are not served: this process runs the CLI "
             "without them. Start it as `uccerts` or `python -m uccerts`.")
    web = None if factory is None else _node_apps(factory, services, state(ctx).settings())
    try:
        services.serve().run(ready=ready, warn=warn, web=web)
    finally:
        services.dispose()
    if not as_json:
        say("Stopped.")


def _node_apps(factory: AppFactory, services: Services, settings: Settings
               ) -> Callable[[str, ClusterControl], Any]:
    """Each node's app, as ``serve`` asks for it (node, control)."""
    return lambda node, control: factory(services, node, control, settings)


def print_running(running: Running) -> None:
    from uccerts.domain.purposes import ServiceKind, name_of

    say(f"Cluster {running.cluster} is running.")
    for node in running.nodes:
        say(f"  {node['node']} ({node['role']}) on {node['address']}")
        for svc in node["services"]:
            ports = ",".join(map(str, svc["ports"])) or "-"
            say(f"    {svc['service']:<44} {svc['state']:<8} {ports}")
    web = name_of(ServiceKind.TOMCAT)
    tomcat = next((s for s in running.nodes[0]["services"] if s["service"] == web
                   and s["ports"]), None) if running.nodes else None
    if tomcat:
        say(f"Web console and APIs: https://{running.nodes[0]['address']}:"
            f"{tomcat['ports'][-1]}/ (accounts: uccerts admin list)")
    say(f"{running.phones} phone(s) booting. Watch them: uccerts phones status "
        "(or: watch -n1 uccerts phones status)")
    say(f"Restart a service: uccerts service restart NODE \"{web}\". Ctrl-C stops.")
