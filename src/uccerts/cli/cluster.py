"""``uccerts cluster …``: create a cluster from a topology, show it, set its security
mode and SAML SSO flag."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from uccerts.cli.common import emit_json, handled, say, state, table, warn

if TYPE_CHECKING:
    from uccerts.bootstrap import Services
    from uccerts.services.cluster import InitResult


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Create and inspect clusters; security mode and SAML SSO.",
                        no_args_is_help=True)
    app.add_typer(group, name="cluster")

    @group.command("init")
    def init(
        ctx: typer.Context,
        topology: Path = typer.Option(..., "--topology", help="Topology TOML file"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Create the cluster and every node's self-signed certificates."""
        with handled(as_json):
            from uccerts.domain.topology import parse_topology

            text = _read_topology(topology)
            parse_topology(text)  # a broken topology must not leave a new home behind
            services = state(ctx).services(create=True)
            if as_json:
                result = services.clusters.init(text)
            else:
                result = _init_with_progress(services, text)
            if as_json:
                from uccerts.services.views import cluster_view

                emit_json({"cluster": cluster_view(result.cluster, list(result.nodes)),
                           "certificates": result.identities,
                           "admin": {"user": result.admin_user,
                                     "password": result.admin_password or None}})
                return
            say(f"Cluster {result.cluster.name} ({result.cluster.domain}) created: "
                f"{len(result.nodes)} nodes, {result.identities} self-signed certificates.")
            for node in result.nodes:
                say(f"  {node.hostname:<16} {node.role.value:<11} {node.address:<15} "
                    f"{node.fqdn}")
            if result.admin_password:
                say("")
                say(f"Platform administrator: {result.admin_user}")
                say(f"Password (shown once, store it now): {result.admin_password}")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """The clusters in this database (pick one with --cluster NAME)."""
        with handled(as_json):
            clusters = state(ctx).services().clusters.list()
            if as_json:
                emit_json([{"name": c.name, "domain": c.domain,
                            "security_mode": c.security_mode} for c in clusters])
                return
            table(["Cluster", "Domain", "Security mode"],
                  [[c.name, c.domain, str(c.security_mode)] for c in clusters])

    @group.command("show")
    def show(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Cluster settings and nodes."""
        with handled(as_json):
            from uccerts.services.views import cluster_view

            cluster, nodes = state(ctx).services().clusters.show()
            if as_json:
                emit_json(cluster_view(cluster, nodes))
                return
            mode = "1 (mixed)" if cluster.security_mode == 1 else "0 (non-secure)"
            say(f"Cluster:               {cluster.name}")
            say(f"Domain:                {cluster.domain}")
            say(f"Cluster security mode: {mode}")
            if cluster.security_mode == 1:
                say(f"CTL:                   {cluster.ctl_sha256 or 'none (uccerts ctl update)'}")
            say(f"SAML SSO:              {'enabled' if cluster.sso_enabled else 'disabled'}")
            say(f"SAN match:             {cluster.san_match.value}")
            say(f"Phones:                {cluster.phone_count}")
            from uccerts.domain.purposes import service

            table(["Node", "Role", "Address", "FQDN", "Services"],
                  [[n.hostname, n.role.value, n.address, n.fqdn,
                    ", ".join(service(s).key for s in n.services)] for n in nodes])

    @group.command("security-mode")
    def security_mode(
        ctx: typer.Context,
        mode: str = typer.Argument(..., metavar="mixed|non-secure",
                                   help="mixed (security mode 1, with a CTL) or non-secure (0)"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Set the cluster security mode; mixed builds the CTL (utils ctl set-cluster)."""
        with handled(as_json):
            from uccerts.cli.ctl import show_security_result
            from uccerts.services.security import parse_mode

            wanted = parse_mode(mode)  # a bad value is a usage error before any store opens
            result = state(ctx).services().security.set_mode(wanted)
            if as_json:
                emit_json(result.to_dict())
                return
            show_security_result(result)

    @group.command("sso")
    def sso(
        ctx: typer.Context,
        action: str = typer.Argument(..., metavar="enable|disable", help="enable or disable"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Enable or disable SAML SSO (tomcat certificate changes are refused while it is
        enabled)."""
        with handled(as_json):
            enabled = _sso_flag(action)
            result = state(ctx).services().security.set_sso(enabled)
            if as_json:
                emit_json(result.to_dict())
                return
            word = "enabled" if result.sso_enabled else "disabled"
            say(f"SAML SSO {word} on cluster {result.cluster}." if result.changed else
                f"SAML SSO was already {word} on cluster {result.cluster}; nothing changed.")


def _sso_flag(action: str) -> bool:
    from uccerts.errors import UsageError

    wanted = action.strip().lower()
    if wanted not in ("enable", "disable"):
        raise UsageError(f"Unknown SSO action '{action}'", code="usage",
                         fix="Use one of: enable, disable")
    return wanted == "enable"


def _read_topology(path: Path) -> str:
    from uccerts.errors import InvalidInput

    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The topology {path.name} is not UTF-8 text",
                           code="invalid-topology", fix="Save the file as UTF-8") from exc


def _init_with_progress(services: Services, text: str) -> InitResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  transient=True) as progress:
        task = progress.add_task("Generating self-signed certificates", total=None)

        def step(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total,
                            description=f"Generating {label:<34}")

        try:
            return services.clusters.init(text, progress=step)
        except KeyboardInterrupt:
            warn("Interrupted: nothing was stored.")
            raise
