"""The control socket's codec: ``ClusterControl`` calls, their frozen results and the
typed errors, to and from the JSON objects ``runtime.control`` carries.

Both ends share one explicit table of operations (``OPS``): the server maps an op name
to the port method it calls, the client decodes the answer with the same entry; no
name is ever turned into a method by ``getattr``. Errors travel with everything they
carry (class, code, message, fix, detail, findings) and come back as the same class.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from uccerts.domain.control import (
    ALL_PHONES,
    ClusterControl,
    Emit,
    HistorySample,
    PhoneRow,
    PhonesChange,
    PhonesStatus,
    PhoneState,
    RunningService,
    ServiceAction,
    ServiceResult,
    ServiceStatus,
    WaitResult,
    Who,
)
from uccerts.domain.findings import Finding, Severity
from uccerts.domain.states import ServiceState
from uccerts.errors import (
    ControlTimeout,
    FindingsError,
    InvalidInput,
    NotFound,
    Refused,
    SystemFailure,
    UccertsError,
    UsageError,
)

Json = dict[str, Any]

# ------------------------------------------------------------------ errors

_ERRORS: dict[str, type[UccertsError]] = {
    cls.__name__: cls for cls in (UccertsError, UsageError, NotFound, InvalidInput, Refused,
                                  FindingsError, SystemFailure, ControlTimeout)}


def encode_error(err: UccertsError) -> Json:
    """``{"error": …, "kind": CLASS}``: an error of a class this codec does not know
    (one declared in a face) travels as its nearest known base."""
    kind = next(c.__name__ for c in type(err).__mro__ if c.__name__ in _ERRORS)
    findings = getattr(err, "findings", ()) if isinstance(err, FindingsError) else ()
    return {"kind": kind, "error": {
        "code": err.code, "message": err.message, "fix": err.fix or "",
        "detail": {"reason": err.detail} if err.detail else {},
        "findings": [{**f.to_dict(), "severity": f.severity.value} for f in findings]}}


def decode_error(message: Mapping[str, Any]) -> UccertsError:
    error = message.get("error")
    error = error if isinstance(error, dict) else {}
    cls = _ERRORS.get(str(message.get("kind")), SystemFailure)
    detail = error.get("detail")
    reason = str(detail.get("reason", "")) if isinstance(detail, dict) else ""
    text = str(error.get("message") or "the cluster refused")
    code, fix = error.get("code") or None, error.get("fix") or None
    if cls is FindingsError:
        findings = [Finding(str(f.get("code")), str(f.get("message")),
                            Severity(f.get("severity", "error")), str(f.get("fix") or ""),
                            dict(f.get("detail") or {}))
                    for f in error.get("findings") or () if isinstance(f, dict)]
        rebuilt = FindingsError(findings, text)
        rebuilt.code, rebuilt.fix, rebuilt.detail = code or rebuilt.code, fix, reason
        return rebuilt
    return cls(text, code=code, fix=fix, detail=reason)


# ------------------------------------------------------------------ values


def _counts(raw: Any) -> dict[PhoneState, int]:
    found = raw if isinstance(raw, dict) else {}
    return {s: int(found.get(s.value, 0)) for s in PhoneState}


def service_state(raw: Json) -> RunningService:
    port = raw.get("port")
    return RunningService(str(raw["service"]), ServiceState(str(raw["state"])),
                        int(port) if port is not None else None,
                        tuple(int(p) for p in raw.get("ports") or ()),
                        raw.get("certificate_sha256"),
                        tuple(str(w) for w in raw.get("warnings") or ()))


def service_status(raw: Json) -> ServiceStatus:
    return ServiceStatus(service_state(raw), raw.get("installed_sha256"),
                         bool(raw.get("restart_needed")))


def phones_status(raw: Json) -> PhonesStatus:
    return PhonesStatus(int(raw["total"]), _counts(raw.get("by_state")),
                        {str(n): _counts(c) for n, c in (raw.get("by_node") or {}).items()},
                        tuple(PhoneRow(str(p["mac"]), str(p["node"]), PhoneState(p["state"]),
                                       str(p.get("reason") or ""))
                              for p in raw.get("phones") or ()))


def wait_result(raw: Json) -> WaitResult:
    return WaitResult(bool(raw["settled"]), phones_status(raw["status"]))


def phones_change(raw: Json) -> PhonesChange:
    what = "deleted" if "deleted" in raw else "reset"
    waited = wait_result(raw) if "status" in raw else None
    return PhonesChange(what, int(raw[what]), waited)


def history(raw: list[Json]) -> tuple[HistorySample, ...]:
    return tuple(HistorySample(str(s["at"]), _counts(s.get("by_state"))) for s in raw)


def _text(args: Mapping[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"Missing {key}", code="control-bad-request")
    return value


def _wait(args: Mapping[str, Any]) -> float | None:
    value = args.get("wait")
    return float(value) if isinstance(value, int | float) and value > 0 else None


# ------------------------------------------------------------------ the operations

Serve = Callable[[ClusterControl, Who, Mapping[str, Any], Emit], Awaitable[Any]]


@dataclass(frozen=True)
class Op:
    """One operation: how the server runs it on the port (answering JSON-ready data)
    and how the client reads that answer back."""

    serve: Serve
    decode: Callable[[Any], Any]


async def _service_list(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit) -> Any:
    return [s.to_dict() for s in await c.service_status(who, _text(a, "node"))]


def _service_op(action: ServiceAction) -> Op:
    async def serve(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit) -> Any:
        result = await c.service(who, action, _text(a, "node"), _text(a, "service"),
                                 on_event=e)
        return {"state": result.state.to_dict(), "events": list(result.events)}

    def decode(raw: Json) -> ServiceResult:
        return ServiceResult(action, service_state(raw["state"]),
                             tuple(str(x) for x in raw.get("events") or ()))

    return Op(serve, decode)


async def _served(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit) -> Any:
    port = a.get("port")
    if not isinstance(port, int):
        raise UsageError("Missing port", code="control-bad-request")
    return {"sha256": await c.served_certificate(who, _text(a, "node"), port)}


async def _phones_status(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit) -> Any:
    return (await c.phones_status(who)).to_dict()


async def _history(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit) -> Any:
    return [s.to_dict() for s in await c.phones_history(who)]


async def _reset(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit) -> Any:
    node = a.get("node")
    return (await c.reset_phones(who, str(node) if node else None, wait=_wait(a))).to_dict()


async def _delete_itl(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit) -> Any:
    macs = a.get("macs")
    chosen: list[str] | str = (ALL_PHONES if macs == ALL_PHONES else
                               [str(m) for m in macs] if isinstance(macs, list) else [])
    return (await c.delete_itl(who, chosen, wait=_wait(a))).to_dict()


async def _wait_registration(c: ClusterControl, who: Who, a: Mapping[str, Any], e: Emit
                             ) -> Any:
    return (await c.wait_registration(who, _wait(a) or 120.0)).to_dict()


OPS: dict[str, Op] = {
    "service.list": Op(_service_list, lambda raw: tuple(service_status(r) for r in raw)),
    **{f"service.{a.value}": _service_op(a) for a in ServiceAction},
    "service.served": Op(_served, lambda raw: raw.get("sha256")),
    "phones.status": Op(_phones_status, phones_status),
    "phones.history": Op(_history, history),
    "phones.reset": Op(_reset, phones_change),
    "phones.delete_itl": Op(_delete_itl, phones_change),
    "phones.wait": Op(_wait_registration, wait_result),
}


def dispatcher(control: ClusterControl
               ) -> Callable[[str, dict[str, Any], str, Emit], Awaitable[Any]]:
    """The server side of the socket: each request run on ``control``."""

    async def dispatch(op: str, args: dict[str, Any], actor: str, emit: Emit) -> Any:
        entry = OPS.get(op)
        if entry is None:
            raise UsageError(f"Unknown control operation {op}", code="control-unknown-op")
        who = Who(actor, str(args.get("source") or "cli"))
        return await entry.serve(control, who, args, emit)

    return dispatch
