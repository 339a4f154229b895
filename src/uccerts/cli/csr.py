"""``uccerts csr …``: generate, show, download, list (cli.md "CSRs")."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from uccerts.cli.common import emit_json, handled, say, state, table, warn, write_atomically

_JSON = typer.Option(False, "--json", help="Print one JSON document")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Certificate signing requests.", no_args_is_help=True)
    app.add_typer(group, name="csr")

    @group.command("generate")
    def generate(
        ctx: typer.Context,
        node: str = typer.Argument(..., help="Node host name"),
        purpose: str = typer.Argument(..., help="Identity purpose, e.g. tomcat"),
        distribution: str = typer.Option("this-server", "--distribution",
                                         help="this-server or multi-server"),
        common_name: str | None = typer.Option(None, "--common-name"),
        san: list[str] = typer.Option([], "--san", help="Other domain (repeatable)"),
        parent_domain: str | None = typer.Option(None, "--parent-domain"),
        no_parent_domain: bool = typer.Option(False, "--no-parent-domain",
                                              help="Leave the parent domain out of the SANs"),
        key_length: int | None = typer.Option(None, "--key-length"),
        hash_name: str | None = typer.Option(None, "--hash"),
        no_ou: bool = typer.Option(False, "--no-ou", help="Leave the OU out of the subject"),
        as_json: bool = _JSON,
    ) -> None:
        """Generate the node's CSR for a purpose (replaces an existing one)."""
        with handled(as_json):
            from uccerts.domain.csr import CsrOptions
            from uccerts.domain.model import Distribution
            from uccerts.errors import UsageError
            from uccerts.services.csrs import GENERATED, OVERWRITE_WARNING

            try:
                dist = Distribution(distribution.lower())
            except ValueError:
                raise UsageError(f"Unknown distribution '{distribution}'",
                                 code="invalid-distribution",
                                 fix="Use this-server or multi-server") from None
            if parent_domain is not None and no_parent_domain:
                raise UsageError("--parent-domain and --no-parent-domain exclude each other",
                                 code="conflicting-options", fix="Give one of them")
            options = CsrOptions(distribution=dist, common_name=common_name,
                                 extra_sans=tuple(san), parent_domain=parent_domain,
                                 include_parent_domain=not no_parent_domain,
                                 key_length=key_length, hash=hash_name, include_ou=not no_ou)
            result = state(ctx).services().csrs.generate(node, purpose, options)
            if as_json:
                emit_json(result.to_dict())
                return
            if result.replaced:
                warn(OVERWRITE_WARNING)
            say(GENERATED)
            p = result.plan
            say(f"  Purpose:      {p.purpose.name} ({p.distribution.value})")
            say(f"  Common Name:  {p.common_name}")
            say(f"  SANs:         {', '.join(p.sans)}")
            say(f"  Key:          {p.key_type.value} {p.key_length}, {p.hash}")
            say(f"  Nodes:        {', '.join(p.nodes)}")
            say(f"Download it with: uccerts csr download {result.node} {p.purpose.name} "
                f"-o {result.node}-{p.purpose.name}.csr")

    @group.command("show")
    def show(
        ctx: typer.Context,
        node: str = typer.Argument(...),
        purpose: str = typer.Argument(...),
    ) -> None:
        """Print the pending CSR (PEM)."""
        with handled():
            sys.stdout.write(state(ctx).services().csrs.pem(node, purpose))

    @group.command("download")
    def download(
        ctx: typer.Context,
        node: str = typer.Argument(...),
        purpose: str = typer.Argument(...),
        output: str = typer.Option(..., "-o", "--output", help='File to write; "-" for stdout'),
    ) -> None:
        """Write the pending CSR to a file for the CA."""
        with handled():
            pem = state(ctx).services().csrs.pem(node, purpose)
            if output == "-":
                sys.stdout.write(pem)
                return
            write_atomically(Path(output), pem.encode("ascii"))
            say(f"Wrote {output}")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        node: str | None = typer.Option(None, "--node"),
        as_json: bool = _JSON,
    ) -> None:
        """Pending CSRs (only purposes that have one)."""
        with handled(as_json):
            from uccerts.services.csrs import DOWNLOAD_WARNING
            from uccerts.services.views import csr_view

            rows = [csr_view(c) for c in state(ctx).services().csrs.list(node)]
            if as_json:
                emit_json(rows)
                return
            warn(DOWNLOAD_WARNING)
            table(["Node", "Purpose", "Distribution", "Common Name", "SANs", "Key", "Created"],
                  [[r["node"], r["purpose"], r["distribution"], r["common_name"],
                    ", ".join(r["sans"]), f"{r['key_type']} {r['key_length']} {r['hash']}",
                    r["created"]] for r in rows])
