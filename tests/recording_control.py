"""A ``ClusterControl`` for face tests that records each call as the control socket would
carry it, ``(op, args, actor, source)``, and answers through ``answer`` (a subclass's
table of canned answers in the socket's JSON shapes, read back by the socket's own
codec): the faces see typed values, the tests keep asserting on plain tuples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uccerts.domain.control import (
    DEFAULT_TIMEOUT_S,
    SERVICE_TIMEOUT_S,
    WAIT_TIMEOUT_S,
    Emit,
    HistorySample,
    PhonesChange,
    PhonesStatus,
    ServiceAction,
    ServiceResult,
    ServiceStatus,
    WaitResult,
    Who,
)
from uccerts.runtime import control_codec as codec


class RecordingControl:
    calls: list[tuple[str, dict[str, Any], str, str]]

    async def answer(self, op: str, args: dict[str, Any], emit: Emit) -> Any:
        raise NotImplementedError

    async def _ask(self, who: Who, op: str, args: dict[str, Any],
                   on_event: Emit | None = None) -> Any:
        args = {k: v for k, v in args.items() if v is not None}
        self.calls.append((op, dict(args), who.actor, who.source))
        return await self.answer(op, args, on_event or (lambda _: None))

    async def service_status(self, who: Who, node: str, *,
                             timeout: float = DEFAULT_TIMEOUT_S) -> tuple[ServiceStatus, ...]:
        rows = await self._ask(who, "service.list", {"node": node})
        return tuple(codec.service_status(r) for r in rows)

    async def service(self, who: Who, action: ServiceAction, node: str, service: str, *,
                      on_event: Emit | None = None, timeout: float = SERVICE_TIMEOUT_S
                      ) -> ServiceResult:
        events: list[str] = []

        def emit(text: str) -> None:
            events.append(text)
            if on_event is not None:
                on_event(text)

        raw = await self._ask(who, f"service.{action.value}",
                              {"node": node, "service": service}, emit)
        return ServiceResult(action, codec.service_state(raw), tuple(events))

    async def served_certificate(self, who: Who, node: str, port: int, *,
                                 timeout: float = DEFAULT_TIMEOUT_S) -> str | None:
        raw = await self._ask(who, "service.served", {"node": node, "port": port})
        return None if raw is None else str(raw)

    async def phones_status(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                            ) -> PhonesStatus:
        return codec.phones_status(await self._ask(who, "phones.status", {}))

    async def phones_history(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                             ) -> tuple[HistorySample, ...]:
        return codec.history(await self._ask(who, "phones.history", {}))

    async def reset_phones(self, who: Who, node: str | None = None, *,
                           wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                           ) -> PhonesChange:
        raw = await self._ask(who, "phones.reset", {"node": node, "wait": wait})
        return codec.phones_change(raw)

    async def delete_itl(self, who: Who, macs: Sequence[str] | str, *,
                         wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                         ) -> PhonesChange:
        raw = await self._ask(who, "phones.delete_itl", {
            "macs": macs if isinstance(macs, str) else list(macs), "wait": wait})
        return codec.phones_change(raw)

    async def wait_registration(self, who: Who, wait: float = WAIT_TIMEOUT_S
                                ) -> WaitResult:
        raw = await self._ask(who, "phones.wait", {"wait": wait})
        return WaitResult(bool(raw.get("settled", True)), codec.phones_status(raw["status"]))
