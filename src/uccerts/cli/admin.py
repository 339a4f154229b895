"""``uccerts admin …``: platform administrator accounts (cli.md "Accounts")."""

from __future__ import annotations

import sys

import typer

from uccerts.cli.common import emit_json, handled, say, state, table
from uccerts.errors import UsageError


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        raise UsageError("Give the password on standard input", code="password-stdin",
                         fix="echo \"$PASSWORD\" | uccerts admin … --password-stdin")
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        raise UsageError("No password arrived on standard input", code="password-empty",
                         fix="Pipe the password in, one line")
    return text


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Accounts for the web console, the APIs and the admin: shell.",
                        no_args_is_help=True)
    app.add_typer(group, name="admin")

    @group.command("add")
    def add(
        ctx: typer.Context,
        user: str = typer.Argument(..., help="Account name"),
        role: str = typer.Option(..., "--role", help="read-only or read-write"),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="Read the password from standard input"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Add an account (read-only: privilege 0; read-write: privilege 1)."""
        with handled(as_json):
            account = state(ctx).services().accounts.add(user, role, _password(password_stdin))
            if as_json:
                emit_json({"user": account.username, "role": account.role})
            else:
                say(f"Account {account.username} added ({account.role}).")

    @group.command("set-password")
    def set_password(
        ctx: typer.Context,
        user: str = typer.Argument(..., help="Account name"),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="Read the password from standard input"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Set an account's password."""
        with handled(as_json):
            state(ctx).services().accounts.set_password(user, _password(password_stdin))
            if as_json:
                emit_json({"user": user, "password_changed": True})
            else:
                say(f"Password of {user} changed.")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Every account and its role."""
        with handled(as_json):
            accounts = state(ctx).services().accounts.list()
            if as_json:
                emit_json([{"user": a.username, "role": a.role} for a in accounts])
            else:
                table(["User", "Role"], [[a.username, a.role] for a in accounts])

    @group.command("remove")
    def remove(
        ctx: typer.Context,
        user: str = typer.Argument(..., help="Account name"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document"),
    ) -> None:
        """Remove an account (never the last read-write one)."""
        with handled(as_json):
            state(ctx).services().accounts.remove(user)
            if as_json:
                emit_json({"user": user, "removed": True})
            else:
                say(f"Account {user} removed.")
