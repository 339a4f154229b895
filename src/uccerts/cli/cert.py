"""``uccerts cert …``: list, show, upload, regenerate, delete (cli.md "Certificates")."""

from __future__ import annotations

import sys

import typer

from uccerts.cli.common import emit_json, handled, read_input, say, state, table, warn
from uccerts.cli.output import write_findings

_JSON = typer.Option(False, "--json", help="Print one JSON document")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Identity and trust certificates.", no_args_is_help=True)
    app.add_typer(group, name="cert")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        node: str | None = typer.Option(None, "--node", help="Only this node"),
        purpose: str | None = typer.Option(None, "--purpose", help="Purpose or trust store"),
        kind: str | None = typer.Option(None, "--type", help="own or trust"),
        expires_within: int | None = typer.Option(
            None, "--expires-within", metavar="DAYS", min=0, max=36500,
            help="Only certificates that expire within DAYS days (0: already expired)"),
        as_json: bool = _JSON,
    ) -> None:
        """Every identity and trust certificate with its expiry."""
        with handled(as_json):
            views = state(ctx).services().certificates.list(
                node, purpose, kind, expiring_within_days=expires_within)
            if as_json:
                emit_json([v.to_dict() for v in views])
                return
            table(["Node", "Certificate", "Type", "Common Name", "Key", "Distribution",
                   "Issued By", "Expiration", "Description"],
                  [[v.node, v.purpose, v.type, v.common_name,
                    f"{v.key_type} {v.key_size}", v.distribution, v.issuer,
                    v.not_after[:10], v.description] for v in views])

    @group.command("show")
    def show(
        ctx: typer.Context,
        node: str = typer.Argument(..., help="Node host name"),
        purpose: str = typer.Argument(..., help="Purpose or trust store"),
        file: str | None = typer.Option(None, "--file", help="File name (trust stores)"),
        pem: bool = typer.Option(False, "--pem", help="Print only the PEM"),
        as_json: bool = _JSON,
    ) -> None:
        """One certificate: summary and PEM."""
        with handled(as_json):
            view = state(ctx).services().certificates.show(node, purpose, file)
            if as_json:
                emit_json(view.to_dict(with_pem=True))
            elif pem:
                sys.stdout.write(view.pem)
            else:
                for label, value in (
                    ("Node", view.node), ("Certificate", view.purpose), ("Type", view.type),
                    ("File", view.filename), ("Common Name", view.common_name),
                    ("Issued By", view.issuer), ("Serial", view.serial),
                    ("Validity From", view.not_before), ("To", view.not_after),
                    ("Key", f"{view.key_type} {view.key_size}"),
                    ("Distribution", view.distribution), ("SANs", ", ".join(view.sans)),
                    ("SHA-256", view.sha256), ("Description", view.description),
                ):
                    say(f"{label + ':':<15}{value}")
                sys.stdout.write(view.pem)

    @group.command("upload")
    def upload(
        ctx: typer.Context,
        node: str = typer.Argument(..., help="Node host name"),
        purpose: str = typer.Argument(..., help="Identity purpose or trust store"),
        file: str = typer.Argument(..., help="PEM, DER or PKCS#7 file; - for stdin"),
        description: str | None = typer.Option(None, "--description"),
        strict: bool = typer.Option(False, "--strict", help="Missing key usage is an error"),
        dry_run: bool = typer.Option(False, "--dry-run",
                                     help="Run every check against the cluster; store nothing"),
        as_json: bool = _JSON,
    ) -> None:
        """Upload a CA-signed identity certificate or trust certificates."""
        with handled(as_json):
            data = read_input(file)
            certificates = state(ctx).services().certificates
            if dry_run:
                result = certificates.validate(node, purpose, data, strict=strict)
            else:
                result = certificates.upload(node, purpose, data, description, strict=strict)
            if as_json:
                emit_json(result.to_dict() | ({"dry_run": True} if dry_run else {}))
                return
            from uccerts.services.certificates import UPLOAD_OK

            nodes = sorted({i.node for i in result.installed if i.purpose == result.purpose})
            verb = "would install" if dry_run else "installed"
            say(f"{'Dry run, nothing stored: the upload would succeed' if dry_run else UPLOAD_OK}"
                f": {result.purpose} on {', '.join(nodes) or node}")
            for item in result.installed:
                say(f"  {verb} {item.purpose}/{item.filename} on {item.node}")
            write_findings(result.warnings)
            if result.services_to_restart:
                say("After the upload, restart these services for the new certificate to be "
                    "served:" if dry_run else
                    "Restart these services for the new certificate to be served:")
                for r in result.services_to_restart:
                    say(f"  {r.node}: {r.service}")

    @group.command("regenerate")
    def regenerate(
        ctx: typer.Context,
        node: str = typer.Argument(..., help="Node host name"),
        purpose: str = typer.Argument(..., help="Identity purpose"),
        key_length: int | None = typer.Option(None, "--key-length"),
        hash_name: str | None = typer.Option(None, "--hash"),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
        as_json: bool = _JSON,
    ) -> None:
        """Make a new key and self-signed certificate (replaces a CA-signed one)."""
        with handled(as_json):
            from uccerts.domain.purposes import purpose as lookup
            from uccerts.errors import Refused
            from uccerts.services.certificates import REGENERATE_WARNING

            name = lookup(purpose).name
            if not yes:
                if as_json or not sys.stdin.isatty():
                    raise Refused(REGENERATE_WARNING.format(purpose=name),
                                  code="confirmation-required", fix="Add --yes to proceed")
                warn(REGENERATE_WARNING.format(purpose=name))
                if not typer.confirm("Proceed?", default=False):
                    raise typer.Exit(1)
            result = state(ctx).services().certificates.regenerate(
                node, purpose, key_length=key_length, hash_name=hash_name)
            if as_json:
                emit_json({"ok": True, "certificate": result.view.to_dict(),
                           "services_to_restart": [r.to_dict()
                                                   for r in result.services_to_restart],
                           "message": result.message})
                return
            say(f"Regenerated {result.view.purpose} on {result.view.node}: "
                f"{result.view.key_type} {result.view.key_size}, "
                f"expires {result.view.not_after}")
            say(result.message)
            for r in result.services_to_restart:
                say(f"  {r.node}: {r.service}")

    @group.command("delete")
    def delete(
        ctx: typer.Context,
        node: str = typer.Argument(..., help="Node host name"),
        store: str = typer.Argument(..., help="Trust store"),
        filename: str = typer.Argument(..., help="File name in the store"),
        as_json: bool = _JSON,
    ) -> None:
        """Delete a trust certificate (cluster-wide for replicated stores)."""
        with handled(as_json):
            removed = state(ctx).services().certificates.delete(node, store, filename)
            if as_json:
                emit_json({"ok": True, "removed": [r.to_dict() for r in removed]})
                return
            for r in removed:
                say(f"Deleted {r.purpose}/{r.filename} on {r.node}")
