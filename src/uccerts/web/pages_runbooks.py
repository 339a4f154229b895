"""Runbooks: the regeneration procedure of domain.md §10 planned with its guards, started
and resumed from the console, each step's state followed live.

A runbook runs for minutes, blocks (the store, the running cluster) and may restart the
Cisco Tomcat serving this very page, which ends every open connection, the one of the
request included. So, as Control Center's actions (``pages_control``), a runbook runs as
its own task of the app's event loop, launched once the response has been sent, and the
synchronous service runs in a worker thread; its control calls come back to the loop
(``services.control.Blocking`` on the app's loop). The pages follow the stored steps
through a small JSON poll that waits out the moment the listener is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from uccerts.bootstrap import Services, build_runbooks
from uccerts.domain.model import Distribution, Runbook, RunbookStep
from uccerts.domain.purposes import PURPOSES
from uccerts.domain.purposes import purpose as find_purpose
from uccerts.domain.runbook import CaKind, Guard, Override, Plan
from uccerts.domain.runbook import Request as PlanRequest
from uccerts.domain.runbook_options import AcmeSettings, RunbookOptions
from uccerts.errors import NotFound, Refused, UccertsError, UsageError
from uccerts.http.auth import app_context
from uccerts.http.context import AppContext
from uccerts.http.jobs import Job, JobRunner, new_id
from uccerts.http.security import Principal
from uccerts.services.control import Blocking, Who
from uccerts.services.runbook import RunbookService
from uccerts.web.common import services_for
from uccerts.web.pages_control import not_running
from uccerts.web.render import Problem, problems, render
from uccerts.web.session import form_writer, viewer

router = APIRouter()
KEEP = 50  # finished jobs kept for their pages
RESUMABLE = ("failed", "waiting")
OVERRIDES: tuple[tuple[str, str], ...] = (
    (Override.MANAGE_SSO.value, "Disable SAML SSO first and re-enable it after (tomcat)"),
    (Override.ITL_RISK.value, "Change CallManager or TVS while phones may not have "
                              "re-registered after the other"),
    (Override.BACKUP.value, "Regenerate ipsec while a backup or restore runs"),
    (Override.CAPF_NODE.value, "Go on with CAPF on the publisher only"),
)
CONFIRM = ("A runbook changes certificates and restarts services, as the plan shows. "
           "Run these steps?")


# ------------------------------------------------------------------ the cluster, from a thread


# ------------------------------------------------------------------ background jobs


@dataclass
class RunbookJob(Job):
    """A start or resume running in this app (its runbook known once stored)."""

    runbook_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "runbook_id": self.runbook_id, "done": self.done,
                "error": self.error}


class RunbookJobs:
    """The runbook jobs among the app's (``http.jobs``)."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner

    def create(self, owner: str, runbook_id: int | None = None) -> RunbookJob:
        return self.runner.add(RunbookJob(new_id(), owner, runbook_id=runbook_id))

    def get(self, job_id: str, owner: str) -> RunbookJob | None:
        return self.runner.get(RunbookJob, job_id, owner)

    def running(self, runbook_id: int) -> RunbookJob | None:
        """The job of this app running that runbook now, if any."""
        return next((j for j in self.runner.of(RunbookJob)
                     if j.runbook_id == runbook_id and not j.done), None)

    def last_error(self, runbook_id: int) -> dict[str, str] | None:
        ended = [j for j in self.runner.of(RunbookJob) if j.runbook_id == runbook_id and j.done]
        return ended[-1].error if ended else None

    def launch(self, job: RunbookJob, work: Callable[[RunbookJob], None]) -> None:
        """Run ``work`` in a worker thread, as a task of its own (call from the loop):
        not tied to any request; abandoned (not waited for) if the app stops."""
        self.runner.launch_in_thread(job, work)


def jobs_of(request: Request) -> RunbookJobs:
    return RunbookJobs(app_context(request).jobs)


# ------------------------------------------------------------------ the service


def runbooks_for(ctx: AppContext, services: Services, control: Blocking | None = None,
                 *, manual_folder: Path | None = None) -> RunbookService:
    """The runbook use cases as this user (``services``), driving ``control``."""
    return build_runbooks(ctx.settings, services, control, manual_folder=manual_folder)


def _thread_control(ctx: AppContext, principal: Principal) -> Blocking | None:
    if ctx.control is None:
        return None
    return Blocking(ctx.control, Who(principal.username, "web"), asyncio.get_running_loop())


# ------------------------------------------------------------------ the plan form


@dataclass(frozen=True)
class PlanForm:
    """What the Plan form asks, as submitted (GET to plan, POST to start)."""

    purpose: str = ""
    nodes: tuple[str, ...] = ()
    distribution: str = Distribution.THIS_SERVER.value
    ca: str = CaKind.LAB.value
    overrides: tuple[str, ...] = ()
    folder: str = ""
    acme_directory: str = ""
    acme_ca_bundle: str = ""
    acme_http_port: str = "80"
    acme_root_url: str = ""

    @classmethod
    def of(cls, fields: Any) -> PlanForm:
        """From a query string or a form (a multi-dict)."""
        def one(name: str, default: str = "") -> str:
            value = fields.get(name)
            return value.strip() if isinstance(value, str) else default

        def many(name: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in fields.getlist(name)
                         if isinstance(v, str) and v.strip())

        return cls(one("purpose"), many("nodes"),
                   one("distribution") or Distribution.THIS_SERVER.value,
                   one("ca") or CaKind.LAB.value, many("overrides"), one("folder"),
                   one("acme_directory"), one("acme_ca_bundle"),
                   one("acme_http_port") or "80", one("acme_root_url"))

    def request(self) -> PlanRequest:
        try:
            dist, kind = Distribution(self.distribution.lower()), CaKind(self.ca.lower())
        except ValueError:
            raise UsageError(f"Unknown distribution '{self.distribution}' or CA "
                             f"'{self.ca}'", code="invalid-option",
                             fix="Distribution this-server or multi-server; CA manual, lab "
                                 "or ACME") from None
        try:
            overrides = frozenset(Override(o) for o in self.overrides)
        except ValueError:
            raise UsageError("Unknown override", code="invalid-option",
                             fix="Tick only the overrides the page offers") from None
        return PlanRequest(find_purpose(self.purpose), self.nodes, dist, kind, overrides)

    def options(self, root: Path | None) -> RunbookOptions:
        """What the runbook keeps beside its plan: where its CA is (folders inside
        ``root``, the home or the configured export folder)."""
        try:
            port = int(self.acme_http_port)
        except ValueError:
            raise UsageError(f"The http-01 port '{self.acme_http_port}' is not a number",
                             code="invalid-option", fix="Enter a port, 80 by default"
                             ) from None
        if CaKind(self.ca.lower()) is CaKind.ACME and not self.acme_directory:
            raise UsageError("The ACME CA needs its directory URL",
                             code="acme-directory-missing",
                             fix="Enter the directory URL (https://…/directory)")
        acme = AcmeSettings(
            self.acme_directory,
            str(resolve_file(self.acme_ca_bundle, root)) if self.acme_ca_bundle else None,
            port, self.acme_root_url or None) if self.acme_directory else None
        return RunbookOptions(folder=str(resolve_folder(self.folder, root)), acme=acme)


def resolve_folder(text: str, root: Path | None) -> Path:
    """The folder a manual CA's CSR files are written to, as the administrator typed
    it: relative to ``root`` (the home, or the configured export folder) and confined
    to it, so the console cannot be made to write files anywhere on the server."""
    base = (root or Path.cwd()).resolve()
    path = Path(text).expanduser() if text else base / "csr-out"
    resolved = (path if path.is_absolute() else base / path).resolve()
    if not resolved.is_relative_to(base):
        raise UsageError(f"The folder '{text}' is outside {base}: the console writes CSR "
                         "files only there", code="folder-outside-home",
                         fix=f"Choose a folder inside {base} (a relative one is taken from "
                             "there), or set UCCERTS_EXPORT_DIR to the folder to use")
    return resolved


def resolve_file(text: str, root: Path | None) -> Path:
    """A file of the server the console only reads (the ACME CA bundle): relative to
    ``root``."""
    base = root or Path.cwd()
    path = Path(text).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def purpose_choices() -> list[str]:
    return [p.name for p in PURPOSES if not p.self_signed_only]


# ------------------------------------------------------------------ views of runbooks


def _output(step: RunbookStep) -> str:
    text = step.output.strip()
    if text.startswith("-----BEGIN CERTIFICATE REQUEST"):
        return "CSR (PEM)"
    if text.startswith("-----BEGIN"):
        return f"{text.count('-----BEGIN')} certificate(s) (PEM)"
    first = text.splitlines()[0] if text else ""
    return first[:200] + ("…" if len(first) > 200 else "")


def step_doc(step: RunbookStep) -> dict[str, Any]:
    return {"n": step.n, "node": step.node, "action": step.action, "detail": step.detail,
            "state": step.state, "output": _output(step),
            "started": step.started.isoformat() if step.started else "",
            "finished": step.finished.isoformat() if step.finished else ""}


def runbook_doc(runbook: Runbook) -> dict[str, Any]:
    return {"id": runbook.id, "purpose": runbook.purpose, "state": runbook.state,
            "message": runbook.message, "created": runbook.created.isoformat(),
            "updated": runbook.updated.isoformat(), "ca": runbook.options.ca.value,
            "folder": (runbook.options.folder or ""
                       if runbook.options.ca is CaKind.MANUAL else ""),
            "done": sum(s.state == "done" for s in runbook.steps),
            "total": len(runbook.steps), "steps": [step_doc(s) for s in runbook.steps]}


def _status(runbook: Runbook | None, job: RunbookJob | None, jobs: RunbookJobs
            ) -> dict[str, Any]:
    """What the live page shows: the stored runbook, whether this app runs it now,
    and the error that ended its last run here."""
    running = job if job is not None and not job.done else (
        jobs.running(runbook.id) if runbook is not None and runbook.id is not None
        else None)
    error = job.error if job is not None else (
        jobs.last_error(runbook.id) if running is None and runbook is not None
        and runbook.id is not None else None)
    doc = runbook_doc(runbook) if runbook is not None else None
    return {"runbook": doc, "active": running is not None,
            "resumable": (doc is not None and running is None
                          and doc["state"] in RESUMABLE),
            "error": error}


# ------------------------------------------------------------------ list and plan


@dataclass
class Planned:
    plan: Plan | None = None
    guards: list[tuple[Guard, bool]] = field(default_factory=list)  # (guard, refuses)
    errors: list[Problem] = field(default_factory=list)
    status: int = 200


def _plan(service: RunbookService, form: PlanForm) -> Planned:
    """The plan of the form, and every guard that applies with whether it refuses
    (a guard whose override is ticked is shown, not refusing)."""
    try:
        request = form.request()
        plan = service.plan(request)
        every = service.plan(PlanRequest(request.purpose, request.nodes,
                                         request.distribution, request.ca)).guards
    except UccertsError as err:
        return Planned(errors=problems(err), status=err.http_status)
    refusing = {g.code for g in plan.guards}
    return Planned(plan, [(g, g.code in refusing) for g in every])


def _guard_problems(plan: Plan) -> list[Problem]:
    return [Problem("error", g.code, g.message,
                    f"Tick {g.override} and plan again to go on anyway" if g.override
                    else "") for g in plan.guards]


def _page_values(ctx: AppContext, services: Services, service: RunbookService,
                 form: PlanForm, planned: Planned | None) -> dict[str, Any]:
    cluster, nodes = services.clusters.show()
    listed = service.list()
    root = ctx.settings.folder_root if ctx.settings is not None else None
    return {"cluster": cluster, "nodes": nodes, "runbooks": [runbook_doc(r) for r in listed],
            "form": form, "planned": planned, "purposes": purpose_choices(),
            "distributions": [d.value for d in Distribution],
            "cas": [k.value for k in CaKind], "override_choices": OVERRIDES,
            "default_folder": str(resolve_folder("", root)), "confirm": CONFIRM,
            "running": ctx.control is not None}


async def _runbooks_page(request: Request, principal: Principal, form: PlanForm, *,
                         status: int = 200, errors: list[Problem] | None = None,
                         plan_it: bool = False) -> Response:
    ctx = app_context(request)
    services = services_for(request, principal)
    service = runbooks_for(ctx, services, _thread_control(ctx, principal))

    def values() -> dict[str, Any]:
        planned = _plan(service, form) if plan_it else None
        return _page_values(ctx, services, service, form, planned)

    found = await run_in_threadpool(values)
    planned = found["planned"]
    shown = list(errors or [])
    if planned is not None and planned.errors:
        shown += planned.errors
        status = status if status != 200 else planned.status
    return render(request, "runbooks.html", status=status, errors=shown, **found)


@router.get("/runbooks")
async def runbooks(request: Request, principal: Principal = Depends(viewer)) -> Response:
    form = PlanForm.of(request.query_params)
    return await _runbooks_page(request, principal, form, plan_it=bool(form.purpose))


# ------------------------------------------------------------------ start and resume


def _wait_for_launch(request: Request, job: RunbookJob, work: Callable[[RunbookJob], None],
                     target: str) -> Response:
    jobs = jobs_of(request)
    # The runbook starts once this answer has been sent, and runs on its own: a step
    # may restart the Cisco Tomcat serving this console, ending this very connection.
    return RedirectResponse(target, status_code=303,
                            background=jobs.runner.after_answer(lambda: jobs.launch(job, work)))


@router.post("/runbooks/start")
async def start(request: Request, principal: Principal = Depends(form_writer)) -> Response:
    ctx = app_context(request)
    form = PlanForm.of(await request.form())
    services = services_for(request, principal)
    control = _thread_control(ctx, principal)
    service = runbooks_for(ctx, services, control)
    try:
        plan_request = form.request()
        options = form.options(ctx.settings.folder_root if ctx.settings is not None else None)
        if control is None:
            raise not_running()
        plan = await run_in_threadpool(service.plan, plan_request)
        if plan.refused:
            await run_in_threadpool(lambda: services.audit.refused(
                "runbook start", purpose=plan.purpose,
                detail="; ".join(g.code for g in plan.guards)))
            return await _runbooks_page(request, principal, form, status=409,
                                        errors=_guard_problems(plan), plan_it=True)
    except UccertsError as err:
        return await _runbooks_page(request, principal, form, status=err.http_status,
                                    errors=problems(err), plan_it=bool(form.purpose))
    job = jobs_of(request).create(principal.username)

    def work(job: RunbookJob) -> None:
        # The runbook's number is known once it is stored: the service keeps the
        # options it was started with, this job's id among them.
        def find(_: RunbookStep | None = None) -> None:
            if job.runbook_id is None:
                job.runbook_id = next((r.id for r in service.list()
                                       if r.options.started_by == job.id),
                                      None)

        try:
            done = service.start(plan_request, replace(options, started_by=job.id),
                                 on_step=find)
            job.runbook_id = done.id
        finally:
            find()  # refused or failed once stored: still name it

    return _wait_for_launch(request, job, work, f"/runbooks/jobs/{job.id}")


def _runbook_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise NotFound(f"No runbook {text}", code="runbook-not-found",
                       fix="Choose one in the runbook list") from None


@router.post("/runbooks/resume")
async def resume(request: Request, number: str = Form("", alias="id"),
                 folder: str = Form(""), principal: Principal = Depends(form_writer)
                 ) -> Response:
    ctx = app_context(request)
    runbook_id = _runbook_id(number)
    services = services_for(request, principal)
    control = _thread_control(ctx, principal)
    root = ctx.settings.folder_root if ctx.settings is not None else None
    try:
        current = await run_in_threadpool(runbooks_for(ctx, services).get, runbook_id)
        manual = (current.state == "waiting" and current.options.ca is CaKind.MANUAL)
        service = runbooks_for(ctx, services, control, manual_folder=(
            resolve_folder(folder, root) if manual and folder else None))
        if jobs_of(request).running(runbook_id) is not None:
            raise Refused(f"Runbook {runbook_id} is running", code="runbook-running",
                          fix="Wait until it ends; its page follows it")
        if current.state not in RESUMABLE:
            raise Refused(f"Runbook {runbook_id} is {current.state}: only a failed or "
                          f"waiting runbook is resumed", code="runbook-not-resumable",
                          fix="Start a new runbook from the plan")
        if control is None:
            raise not_running()
    except UccertsError as err:
        return await _detail_page(request, principal, runbook_id, status=err.http_status,
                                  errors=problems(err))
    job = jobs_of(request).create(principal.username, runbook_id)

    def work(_: RunbookJob) -> None:
        service.execute(runbook_id)

    return _wait_for_launch(request, job, work, f"/runbooks/view?id={runbook_id}")


# ------------------------------------------------------------------ following a runbook


async def _detail_page(request: Request, principal: Principal, runbook_id: int, *,
                       status: int = 200, errors: list[Problem] | None = None) -> Response:
    ctx = app_context(request)
    services = services_for(request, principal)
    found = await run_in_threadpool(runbooks_for(ctx, services).get, runbook_id)
    live = _status(found, None, jobs_of(request))
    return render(request, "runbooks_detail.html", status=status, live=live,
                  runbook=live["runbook"], job=None, errors=list(errors or []),
                  poll=f"/runbooks/status.json?id={runbook_id}")


@router.get("/runbooks/view")
async def view(request: Request, number: str = Query("", alias="id"),
               principal: Principal = Depends(viewer)) -> Response:
    return await _detail_page(request, principal, _runbook_id(number))


@router.get("/runbooks/status.json")
async def status(request: Request, number: str = Query("", alias="id"),
                 principal: Principal = Depends(viewer)) -> Response:
    ctx = app_context(request)
    found = await run_in_threadpool(
        runbooks_for(ctx, services_for(request, principal)).get, _runbook_id(number))
    return JSONResponse(_status(found, None, jobs_of(request)),
                        headers={"Cache-Control": "no-store"})


def _job(request: Request, principal: Principal, job_id: str) -> RunbookJob:
    job = jobs_of(request).get(job_id, principal.username)
    if job is None:
        raise NotFound("No such runbook start", code="job-not-found",
                       fix="Find the runbook in the runbook list")
    return job


async def _job_status(request: Request, principal: Principal, job: RunbookJob
                      ) -> dict[str, Any]:
    found = None
    if job.runbook_id is not None:
        ctx = app_context(request)
        found = await run_in_threadpool(
            runbooks_for(ctx, services_for(request, principal)).get, job.runbook_id)
    return _status(found, job, jobs_of(request)) | {"job": job.to_dict()}


@router.get("/runbooks/jobs/{job_id}")
async def job_page(request: Request, job_id: str,
                   principal: Principal = Depends(viewer)) -> Response:
    job = _job(request, principal, job_id)
    live = await _job_status(request, principal, job)
    return render(request, "runbooks_detail.html", status=200, live=live,
                  runbook=live["runbook"], job=job, errors=[],
                  poll=f"/runbooks/jobs/{job.id}/status.json")


@router.get("/runbooks/jobs/{job_id}/status.json")
async def job_status(request: Request, job_id: str,
                     principal: Principal = Depends(viewer)) -> Response:
    job = _job(request, principal, job_id)
    return JSONResponse(await _job_status(request, principal, job),
                        headers={"Cache-Control": "no-store"})

