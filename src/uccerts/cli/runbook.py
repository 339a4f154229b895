"""``uccerts runbook …``: the regeneration procedure, planned, guarded, run, resumed
(cli.md "Runbooks")."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from uccerts.cli.common import emit_json, handled, say, state, table
from uccerts.errors import UsageError

if TYPE_CHECKING:
    from uccerts.domain.model import Runbook, RunbookStep
    from uccerts.domain.runbook import Plan, Request
    from uccerts.services.runbook import RunbookService

_NODES = typer.Option(None, "--nodes", help="Only these nodes (repeat); default: all")
_DIST = typer.Option("this-server", "--distribution", help="this-server | multi-server")
_CA = typer.Option("lab", "--ca", help="manual | lab | acme")
_JSON = typer.Option(False, "--json", help="Print one JSON document")


def _service(ctx: typer.Context, *, manual_folder: Path | None = None) -> RunbookService:
    from uccerts.bootstrap import build_runbooks
    from uccerts.cli.common import control

    cli = state(ctx)
    return build_runbooks(cli.settings(), cli.services(), control(ctx),
                          manual_folder=manual_folder)


def _request(purpose: str, nodes: list[str] | None, distribution: str, ca: str,
             overrides: list[str]) -> Request:
    from uccerts.domain.model import Distribution
    from uccerts.domain.purposes import purpose as lookup
    from uccerts.domain.runbook import CaKind, Override, Request

    try:
        dist, kind = Distribution(distribution.lower()), CaKind(ca.lower())
    except ValueError:
        raise UsageError(f"Unknown --distribution '{distribution}' or --ca '{ca}'",
                         code="invalid-option",
                         fix="--distribution this-server|multi-server, --ca manual|lab|acme"
                         ) from None
    return Request(lookup(purpose), tuple(nodes or ()), dist, kind,
                   frozenset(Override(o) for o in overrides))


def _plan_doc(plan: Plan) -> dict[str, Any]:
    return plan.to_dict()


def _runbook_doc(runbook: Runbook) -> dict[str, Any]:
    return {"id": runbook.id, "purpose": runbook.purpose, "state": runbook.state,
            "message": runbook.message, "created": runbook.created.isoformat(),
            "steps": [{"n": s.n, "node": s.node, "action": s.action, "detail": s.detail,
                       "state": s.state} for s in runbook.steps]}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Regenerate certificates by the seed's procedure, guarded and "
                             "resumable.", no_args_is_help=True)
    app.add_typer(group, name="runbook")

    def options(manage_sso: bool, allow_itl_risk: bool, ignore_backup: bool,
                allow_capf_node: bool) -> list[str]:
        flags = {"--manage-sso": manage_sso, "--allow-itl-risk": allow_itl_risk,
                 "--ignore-backup": ignore_backup, "--allow-capf-node": allow_capf_node}
        return [flag for flag, on in flags.items() if on]

    @group.command("plan")
    def plan_(
        ctx: typer.Context,
        purpose: str = typer.Argument(..., help="tomcat, CallManager, ipsec, CAPF, TVS, …"),
        nodes: list[str] = _NODES, distribution: str = _DIST, ca: str = _CA,
        manage_sso: bool = typer.Option(False, "--manage-sso",
                                        help="Disable SAML SSO first, re-enable after"),
        allow_itl_risk: bool = typer.Option(False, "--allow-itl-risk",
                                            help="Change CallManager/TVS regardless"),
        ignore_backup: bool = typer.Option(False, "--ignore-backup",
                                           help="Regenerate ipsec during a backup"),
        allow_capf_node: bool = typer.Option(False, "--allow-capf-node",
                                             help="Go on with CAPF on the publisher only"),
        as_json: bool = _JSON,
    ) -> None:
        """The ordered steps for this cluster and every guard that would refuse."""
        with handled(as_json):
            flags = options(manage_sso, allow_itl_risk, ignore_backup, allow_capf_node)
            plan = _service(ctx).plan(_request(purpose, nodes, distribution, ca, flags))
            if as_json:
                emit_json(_plan_doc(plan))
            else:
                table(["#", "Node", "Action", "Detail"],
                      [[str(s.n), s.node, s.action.value, s.detail] for s in plan.steps])
                for g in plan.guards:
                    say(f"refused [{g.code}]: {g.message}  (override: {g.override})")
            if plan.guards:
                raise typer.Exit(1)

    @group.command("run")
    def run(
        ctx: typer.Context,
        purpose: str = typer.Argument(..., help="tomcat, CallManager, ipsec, CAPF, TVS, …"),
        nodes: list[str] = _NODES, distribution: str = _DIST, ca: str = _CA,
        folder: Path = typer.Option(Path("csr-out"), "--folder",
                                    help="--ca manual: where CSRs go and answers come"),
        acme_directory: str = typer.Option("", "--acme-directory", help="ACME directory URL"),
        acme_ca_bundle: Path | None = typer.Option(None, "--acme-ca-bundle",
                                                   help="TLS trust for the ACME server"),
        acme_http_port: int = typer.Option(80, "--acme-http-port",
                                           help="Port answering http-01 on the node"),
        acme_root_url: str = typer.Option(
            "", "--acme-root-url",
            help="Where the ACME CA publishes its root, when its chain stops below it "
                 "(uploaded to <purpose>-trust first)"),
        manage_sso: bool = typer.Option(False, "--manage-sso"),
        allow_itl_risk: bool = typer.Option(False, "--allow-itl-risk"),
        ignore_backup: bool = typer.Option(False, "--ignore-backup"),
        allow_capf_node: bool = typer.Option(False, "--allow-capf-node"),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
        as_json: bool = _JSON,
    ) -> None:
        """Execute the plan against the running cluster (resumable)."""
        with handled(as_json):
            flags = options(manage_sso, allow_itl_risk, ignore_backup, allow_capf_node)
            request = _request(purpose, nodes, distribution, ca, flags)
            service = _service(ctx)
            if not yes:
                if as_json or not sys.stdin.isatty():
                    from uccerts.errors import Refused

                    raise Refused("A runbook changes certificates and restarts services",
                                  code="confirmation-required", fix="Add --yes to proceed")
                plan = service.plan(request)
                for s in plan.steps:
                    say(f"{s.n:>3}. {s.node:<12} {s.detail}")
                if not typer.confirm("Run these steps?"):
                    raise typer.Exit(1)
            from uccerts.domain.runbook_options import AcmeSettings, RunbookOptions

            acme = AcmeSettings(acme_directory,
                                str(acme_ca_bundle) if acme_ca_bundle else None,
                                acme_http_port, acme_root_url or None
                                ) if acme_directory else None
            with _Progress(as_json) as progress:
                runbook = service.start(request, RunbookOptions(folder=str(folder.resolve()),
                                                                acme=acme),
                                        on_step=progress.step)
            _report(runbook, as_json)

    @group.command("resume")
    def resume(ctx: typer.Context, runbook_id: int = typer.Argument(...),
               as_json: bool = _JSON) -> None:
        """Continue a runbook after a failure, a kill or a manual CA's answer."""
        with handled(as_json):
            with _Progress(as_json) as progress:
                runbook = _service(ctx).execute(runbook_id, on_step=progress.step)
            _report(runbook, as_json)

    @group.command("import")
    def import_(ctx: typer.Context, runbook_id: int = typer.Argument(...),
                folder: Path = typer.Argument(..., help="Folder with the CA's answers"),
                as_json: bool = _JSON) -> None:
        """Take a manual CA's signed files (matched to CSRs by public key) and continue."""
        with handled(as_json):
            with _Progress(as_json) as progress:
                runbook = _service(ctx, manual_folder=folder.resolve()).execute(
                    runbook_id, on_step=progress.step)
            _report(runbook, as_json)

    @group.command("list")
    def list_(ctx: typer.Context, as_json: bool = _JSON) -> None:
        """Runbooks of the cluster, newest first."""
        with handled(as_json):
            runbooks = _service(ctx).list()
            if as_json:
                emit_json([_runbook_doc(r) for r in runbooks])
                return
            table(["ID", "Purpose", "State", "Steps done", "Created"],
                  [[str(r.id), r.purpose, r.state,
                    f"{sum(s.state == 'done' for s in r.steps)}/{len(r.steps)}",
                    r.created.isoformat()] for r in runbooks])

    @group.command("show")
    def show(ctx: typer.Context, runbook_id: int = typer.Argument(...),
             as_json: bool = _JSON) -> None:
        """One runbook and the state of each step."""
        with handled(as_json):
            runbook = _service(ctx).get(runbook_id)
            if as_json:
                emit_json(_runbook_doc(runbook))
                return
            _print(runbook)


def _print(runbook: Runbook) -> None:
    say(f"Runbook {runbook.id}: {runbook.purpose}, {runbook.state}"
        + (f" — {runbook.message}" if runbook.message else ""))
    table(["#", "Node", "Action", "State", "Detail"],
          [[str(s.n), s.node, s.action, s.state, s.detail] for s in runbook.steps])


def _report(runbook: Runbook, as_json: bool) -> None:
    if as_json:
        emit_json(_runbook_doc(runbook))
    else:
        _print(runbook)
        if runbook.state == "waiting":
            say(runbook.message)
    if runbook.state not in ("done", "waiting"):
        raise typer.Exit(1)


class _Progress:
    """A Rich bar (step, node, elapsed) on a terminal; plain lines otherwise."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._bar: Any = None
        self._task: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> _Progress:
        from rich.console import Console

        console = Console(stderr=True)
        if not self._quiet and console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console)
            self._bar.__enter__()
            self._task = self._bar.add_task("Runbook", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def step(self, step: RunbookStep) -> None:
        if self._quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, description=f"{step.n}. {step.node} {step.action}",
                             completed=step.n - (0 if step.state == "done" else 1))
        elif step.state == "done":
            say(f"[{time.monotonic() - self._started:6.1f}s] {step.n:>3}. {step.node:<12} "
                f"{step.action}: {step.output.splitlines()[0][:80] if step.output else 'done'}")
