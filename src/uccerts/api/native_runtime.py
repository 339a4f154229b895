"""The running cluster: Control Center (services per node) and the phones.

These routes need ``uccerts serve``: without it (``ctx.control`` is None, or the control
endpoint does not answer) they answer 503 ``cluster-not-running``.

A control operation runs in its own task, shielded from the request: a restart that
has begun completes even if the client goes away (domain.md §12). Stopping or
restarting the Cisco Tomcat that serves this very request would cut the connection
the answer travels on, so that one is accepted (202) and runs once the answer is out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import JSONResponse

from uccerts.api.native_auth import Caller, Writer
from uccerts.api.native_models import (
    DeleteItlIn,
    PhonesResetIn,
    PhonesStatusOut,
    ServiceActionOut,
    ServiceRow,
)
from uccerts.domain.control import ALL_PHONES, ClusterControl, ServiceAction, Who
from uccerts.domain.purposes import service as find_service
from uccerts.errors import UccertsError
from uccerts.http.auth import app_context
from uccerts.http.jobs import cuts_own_connection
from uccerts.http.security import Principal
from uccerts.runtime.control import not_running

router = APIRouter()

Action = Literal["restart", "start", "stop", "activate", "deactivate"]
T = TypeVar("T")


async def control_call(request: Request, principal: Principal,
                       call: Callable[[ClusterControl, Who], Awaitable[T]]) -> T:
    control = app_context(request).control
    if control is None:
        raise not_running("this API is not served by `uccerts serve`")
    work = call(control, Who(principal.username, "api"))
    # Held by the app, not the request: a client that leaves does not cancel it.
    result: T = await asyncio.shield(app_context(request).jobs.keep(work))
    return result


# ------------------------------------------------------------------ services


@router.get("/nodes/{node}/services", response_model=list[ServiceRow], tags=["services"])
async def list_services(node: str, request: Request, principal: Caller) -> Any:
    """Every service of the node: state, ports, the certificate it serves now and
    whether a newer one is installed (`restart_needed`)."""
    rows = await control_call(request, principal,
                              lambda port, who: port.service_status(who, node))
    return [r.to_dict() for r in rows]


@router.post("/nodes/{node}/services/{service}/{action}", response_model=ServiceActionOut,
             tags=["services"], responses={202: {"model": ServiceActionOut,
                                                 "description": "Accepted: runs once "
                                                 "the answer is sent (this Tomcat)"}})
async def service_action(node: str, service: str, action: Action, request: Request,
                         principal: Writer) -> Any:
    """restart, start, stop, activate or deactivate a service (e.g. `Cisco Tomcat`);
    `events` are the states it went through (`Cisco Tomcat[STOPPING]` ...)."""
    svc = find_service(service)
    name = svc.name
    verb = ServiceAction(action)
    ctx = app_context(request)
    if cuts_own_connection(ctx.node, node, svc, verb):
        if ctx.control is None:
            raise not_running("this API is not served by `uccerts serve`")

        async def act() -> None:
            # Nobody waits for this answer: a refusal is in the audit trail.
            with contextlib.suppress(UccertsError):
                await control_call(request, principal, lambda port, who: port.service(
                    who, verb, node, name))

        # 50 ms: the answer's last bytes leave before the listener stops.
        return JSONResponse({"service": name, "state": "STOPPING", "events": [],
                             "accepted": True}, status_code=202,
                            background=ctx.jobs.after_answer(lambda: ctx.jobs.keep(act()),
                                                             delay_s=0.05))
    result = await control_call(request, principal, lambda port, who: port.service(
        who, verb, node, name))
    return {**result.to_dict(), "events": list(result.events)}


# ------------------------------------------------------------------ phones


@router.get("/phones", response_model=PhonesStatusOut, tags=["phones"])
async def phones_status(request: Request, principal: Caller, wait: bool = False,
                        timeout: Annotated[float, Query(ge=1, le=600)] = 120.0) -> Any:
    """Registration counts per node and state, and every phone (`wait`: first wait
    until no phone is resetting)."""
    if wait:
        await control_call(request, principal,
                           lambda port, who: port.wait_registration(who, timeout))
    status = await control_call(request, principal, lambda port, who: port.phones_status(who))
    return status.to_dict()


@router.get("/phones/history", tags=["phones"])
async def phones_history(request: Request, principal: Caller) -> list[dict[str, Any]]:
    """Registration counts over time (the seed's RTMT)."""
    samples = await control_call(request, principal,
                                 lambda port, who: port.phones_history(who))
    return [s.to_dict() for s in samples]


@router.post("/phones/reset", tags=["phones"])
async def phones_reset(request: Request, principal: Writer,
                       body: PhonesResetIn | None = None) -> dict[str, Any]:
    """Reset phones (all, or one node's): they fetch the ITL and config again and
    re-register. `wait`: answer once every phone settled, with the status."""
    options = body or PhonesResetIn()
    wait = options.timeout if options.wait else None
    result = await control_call(request, principal, lambda port, who: port.reset_phones(
        who, options.node, wait=wait))
    return result.to_dict()


@router.post("/phones/delete-itl", tags=["phones"])
async def phones_delete_itl(body: DeleteItlIn, request: Request, principal: Writer
                            ) -> dict[str, Any]:
    """Erase the ITL (and CTL) on phones, as from their Security menu; they reset."""
    chosen: list[str] | str = ALL_PHONES if body.all else list(body.macs or ())
    wait = body.timeout if body.wait else None
    result = await control_call(request, principal, lambda port, who: port.delete_itl(
        who, chosen, wait=wait))
    return result.to_dict()
