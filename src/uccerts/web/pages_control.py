"""Serviceability > Tools > Control Center: each node's services, their status and the
certificate each serves now; Start, Stop and Restart with the service's events
(``Cisco Tomcat[STOPPING]`` … ``[STARTED]``) followed live."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from uccerts.domain.control import ServiceAction, Who
from uccerts.domain.purposes import service as find_service
from uccerts.errors import NotFound, SystemFailure, UccertsError, UsageError
from uccerts.http.auth import app_context
from uccerts.http.jobs import Emit, JobRunner, ServiceJob, new_id
from uccerts.http.security import Principal
from uccerts.web.common import Where, services_for, where
from uccerts.web.render import NOT_RUNNING, Problem, problems, render
from uccerts.web.session import form_writer, viewer

router = APIRouter()
ACTIONS = ("start", "stop", "restart")
SERVICE_MANAGER = "Service Manager is running"


def jobs_of(request: Request) -> JobRunner:
    return app_context(request).jobs


def not_running() -> SystemFailure:
    return SystemFailure(NOT_RUNNING, code="cluster-not-running",
                         fix="Run `uccerts serve` (or `uccerts demo`) for this home")


async def _place(request: Request, principal: Principal, node: str) -> Where:
    return await run_in_threadpool(where, request, services_for(request, principal),
                                   node or None)


async def _page(request: Request, principal: Principal, node: str, status: int = 200,
                errors: list[Problem] | None = None) -> Response:
    place = await _place(request, principal, node)
    control = app_context(request).control
    rows: list[dict[str, Any]] = []
    errors = list(errors or [])
    if control is None:
        errors.append(Problem("error", "cluster-not-running", NOT_RUNNING,
                              "Run `uccerts serve` for this home"))
    else:
        try:
            rows = [r.to_dict() for r in await control.service_status(
                Who(principal.username, "web"), place.node.hostname)]
        except UccertsError as err:
            errors += problems(err)
    return render(request, "control_center.html", status=status, place=place, rows=rows,
                  errors=errors)


@router.get("/control-center")
async def control_center(request: Request, node: str = "",
                         principal: Principal = Depends(viewer)) -> Response:
    return await _page(request, principal, node)


@router.post("/control-center")
async def control_action(request: Request, node: str = Form(""), service: str = Form(""),
                         action: str = Form(""),
                         principal: Principal = Depends(form_writer)) -> Response:
    control = app_context(request).control
    try:
        if action not in ACTIONS:
            raise UsageError(f"Unknown action '{action}'", code="invalid-action",
                             fix="Use Start, Stop or Restart")
        if not service:
            raise UsageError("Select a service first", code="service-required",
                             fix="Choose the service's radio button, then the action")
        name = find_service(service).name
        place = await _place(request, principal, node)
        if control is None:
            raise not_running()
    except UccertsError as err:
        return await _page(request, principal, node, status=err.http_status,
                           errors=problems(err))
    runner = jobs_of(request)
    job = runner.add(ServiceJob(new_id(), principal.username, node=place.node.hostname,
                                service=name, action=action))
    hostname, user = place.node.hostname, principal.username

    async def work() -> None:
        emit: Emit = job.events.append
        emit(SERVICE_MANAGER)
        result = await control.service(Who(user, "web"), ServiceAction(action), hostname,
                                       name, on_event=emit)
        job.result = _result(result.to_dict())

    # Every action starts once this page has been sent, and the page follows it live:
    # one that cuts its own connection (http.jobs.cuts_own_connection) must, and the
    # others then read the same way.
    response = render(request, "job.html", status=202, job=job, place=place)
    response.background = runner.after_answer(lambda: runner.launch(job, work))
    return response


def _result(value: dict[str, Any]) -> dict[str, Any]:
    keep = ("service", "state", "ports", "certificate_sha256")
    return {k: value[k] for k in keep if k in value}


def _job(request: Request, principal: Principal, job_id: str) -> ServiceJob:
    job = jobs_of(request).get(ServiceJob, job_id, principal.username)
    if job is None:
        raise NotFound("No such service action", code="job-not-found",
                       fix="Start it again from Control Center")
    return job


@router.get("/control-center/jobs/{job_id}")
async def job_page(request: Request, job_id: str,
                   principal: Principal = Depends(viewer)) -> Response:
    job = _job(request, principal, job_id)
    place = await _place(request, principal, job.node)
    return render(request, "job.html", job=job, place=place)


@router.get("/control-center/jobs/{job_id}/status.json")
async def job_status(request: Request, job_id: str,
                     principal: Principal = Depends(viewer)) -> Response:
    return JSONResponse(_job(request, principal, job_id).to_dict(),
                        headers={"Cache-Control": "no-store"})
