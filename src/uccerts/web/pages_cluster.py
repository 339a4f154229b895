"""CM Administration > System > Enterprise Parameters (cluster security mode, SAML SSO,
Reset of all devices) and Device registration: the phones' counts per node and state,
kept live by a small poll of this module's JSON, and the phone list (the seed's RTMT)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from uccerts.domain.control import Who
from uccerts.errors import UccertsError, UsageError
from uccerts.http.auth import app_context
from uccerts.http.security import Principal
from uccerts.services.security import MODE_NAMES, SecurityResult, parse_mode
from uccerts.web.common import services_for
from uccerts.web.pages_control import not_running
from uccerts.web.render import NOT_RUNNING, Problem, problems, render
from uccerts.web.session import form_writer, viewer

router = APIRouter()
RESET_CONFIRM = ("You are about to reset all devices in the system. This action cannot be "
                 "undone. Continue?")
STATES = ("REGISTERED", "UNREGISTERED", "REJECTED", "RESETTING")
PHONE_ROWS = 500  # the list shows at most this many phones (filters narrow it)


# ------------------------------------------------------------------ enterprise parameters


def _parameters(request: Request, principal: Principal, status: int = 200,
                **values: Any) -> Response:
    cluster, _ = services_for(request, principal).clusters.show()
    return render(request, "enterprise.html", status=status, cluster=cluster,
                  mode_names=MODE_NAMES, reset_confirm=RESET_CONFIRM, **values)


@router.get("/enterprise-parameters")
def enterprise_parameters(request: Request,
                          principal: Principal = Depends(viewer)) -> Response:
    return _parameters(request, principal)


def _security(request: Request, principal: Principal, result: SecurityResult) -> Response:
    return _parameters(request, principal, message=result.note, steps=result.next_steps)


@router.post("/enterprise-parameters/security-mode")
def set_security_mode(request: Request, mode: str = Form(""),
                      principal: Principal = Depends(form_writer)) -> Response:
    try:
        result = services_for(request, principal).security.set_mode(parse_mode(mode))
    except UccertsError as err:
        return _parameters(request, principal, status=err.http_status, errors=problems(err))
    return _security(request, principal, result)


@router.post("/enterprise-parameters/ctl-update")
def update_ctl(request: Request, principal: Principal = Depends(form_writer)) -> Response:
    try:
        result = services_for(request, principal).security.update_ctl()
    except UccertsError as err:
        return _parameters(request, principal, status=err.http_status, errors=problems(err))
    return _security(request, principal, result)


@router.post("/enterprise-parameters/sso")
def set_sso(request: Request, action: str = Form(""),
            principal: Principal = Depends(form_writer)) -> Response:
    try:
        if action not in ("enable", "disable"):
            raise UsageError(f"Unknown SSO action '{action}'", code="usage",
                             fix="Use Enable or Disable")
        result = services_for(request, principal).security.set_sso(action == "enable")
    except UccertsError as err:
        return _parameters(request, principal, status=err.http_status, errors=problems(err))
    word = "enabled" if result.sso_enabled else "disabled"
    return _parameters(request, principal,
                       message=f"SAML SSO {word}." if result.changed else
                       f"SAML SSO was already {word}; nothing changed.")


@router.get("/enterprise-parameters/reset")
def reset_form(request: Request, principal: Principal = Depends(viewer)) -> Response:
    return render(request, "device_reset.html", reset_confirm=RESET_CONFIRM)


@router.post("/enterprise-parameters/reset")
async def reset_devices(request: Request,
                        principal: Principal = Depends(form_writer)) -> Response:
    control = app_context(request).control
    try:
        if control is None:
            raise not_running()
        result = (await control.reset_phones(Who(principal.username, "web"))).to_dict()
    except UccertsError as err:
        return render(request, "device_reset.html", status=err.http_status,
                      reset_confirm=RESET_CONFIRM, errors=problems(err))
    return RedirectResponse(f"/device-registration?reset={int(result.get('reset', 0))}",
                            status_code=303)


# ------------------------------------------------------------------ device registration


def _phones(status: dict[str, Any], node: str, state: str) -> list[dict[str, Any]]:
    return [p for p in status.get("phones", [])
            if (not node or p["node"] == node) and (not state or p["state"] == state)]


def counts(status: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The live part of the phones' status (no phone list: it may be 10,000 rows)."""
    return {"total": status["total"], "by_state": status["by_state"],
            "by_node": status["by_node"],
            "at": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


@router.get("/device-registration")
async def device_registration(request: Request, node: str = "", state: str = "",
                              reset: str = "",
                              principal: Principal = Depends(viewer)) -> Response:
    control = app_context(request).control
    errors: list[Problem] = []
    status: dict[str, Any] = {"total": 0, "by_state": dict.fromkeys(STATES, 0),
                              "by_node": {}, "phones": []}
    if control is None:
        errors.append(Problem("error", "cluster-not-running", NOT_RUNNING,
                              "Run `uccerts serve` for this home"))
    else:
        try:
            status = (await control.phones_status(Who(principal.username, "web"))).to_dict()
        except UccertsError as err:
            errors += problems(err)
    phones = _phones(status, node, state)
    now = services_for(request, principal).now()
    return render(request, "registration.html", status=200, live=counts(status, now),
                  states=STATES, phones=phones[:PHONE_ROWS], matching=len(phones),
                  node_filter=node, state_filter=state, errors=errors,
                  message=f"{reset} device(s) reset: they fetch their ITL and configuration "
                          "again and re-register." if reset.isdigit() else "")


@router.get("/device-registration/status.json")
async def registration_status(request: Request, phones: str = "", node: str = "",
                              state: str = "",
                              principal: Principal = Depends(viewer)) -> Response:
    control = app_context(request).control
    if control is None:
        return JSONResponse({"message": NOT_RUNNING}, status_code=503)
    try:
        status = (await control.phones_status(Who(principal.username, "web"))).to_dict()
    except UccertsError as err:
        return JSONResponse({"message": err.message}, status_code=err.http_status)
    body = counts(status, services_for(request, principal).now())
    if phones:  # the list as the page filters it, capped as the page shows it
        chosen = _phones(status, node, state)
        body.update(phones=chosen[:PHONE_ROWS], matching=len(chosen))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
