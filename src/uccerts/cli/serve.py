"""``uccerts serve``: run the cluster in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

from uccerts.cli.common import handled, say, state, warn

if TYPE_CHECKING:
    from uccerts.services.serve import Running


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json",
                                     help="Print where everything listens as one JSON line"),
    ) -> None:
        """Run every node's services on the node addresses, TFTP/TVS and the phones."""
        with handled(as_json):
            from uccerts.services.serve import ServeService

            services = state(ctx).services()
            home = state(ctx).settings().home

            def ready(running: Running) -> None:
                if as_json:
                    # One line, flushed: a supervisor reading stdout knows it is up.
                    sys.stdout.write(json.dumps({
                        "cluster": running.cluster, "nodes": list(running.nodes),
                        "phones": running.phones, "control": running.socket}) + "\n")
                    sys.stdout.flush()
                else:
                    print_running(running)

            try:
                ServeService(services.ctx, home).run(ready=ready, warn=warn)
            finally:
                services.dispose()
            if not as_json:
                say("Stopped.")


def print_running(running: Running) -> None:
    say(f"Cluster {running.cluster} is running.")
    for node in running.nodes:
        say(f"  {node['node']} ({node['role']}) on {node['address']}")
        for svc in node["services"]:
            ports = ",".join(map(str, svc["ports"])) or "-"
            say(f"    {svc['service']:<44} {svc['state']:<8} {ports}")
    tomcat = next((s for s in running.nodes[0]["services"] if s["service"] == "Cisco Tomcat"
                   and s["ports"]), None) if running.nodes else None
    if tomcat:
        say(f"Status page: https://{running.nodes[0]['address']}:{tomcat['ports'][-1]}/")
    say(f"{running.phones} phone(s) booting. Watch them: uccerts phones status "
        "(or: watch -n1 uccerts phones status)")
    say("Restart a service: uccerts service restart NODE \"Cisco Tomcat\". Ctrl-C stops.")
