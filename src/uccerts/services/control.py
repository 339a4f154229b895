"""The running cluster as faces reach it: ``ClusterControl`` over the control socket of
a home (outside ``serve``), and one blocking adapter for synchronous callers (the CLI,
a runbook in a worker thread)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

from uccerts.domain.control import (
    DEFAULT_TIMEOUT_S,
    SERVICE_TIMEOUT_S,
    WAIT_TIMEOUT_S,
    ClusterControl,
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
from uccerts.errors import ControlTimeout, SystemFailure
from uccerts.runtime import control
from uccerts.runtime.control_codec import OPS

T = TypeVar("T")
# The socket's own bound is the call's timeout plus this: the server answers a
# timed-out wait itself, a little after the wait ends.
_MARGIN_S = 30.0

__all__ = ["Blocking", "ClusterControl", "SocketControl", "Who"]


class SocketControl:
    """``ClusterControl`` through the control socket of ``home``."""

    def __init__(self, home: Path) -> None:
        self._home = home

    async def _call(self, who: Who, op: str, args: dict[str, Any], timeout: float,
                    on_event: Emit | None = None) -> Any:
        raw = await asyncio.to_thread(control.call, self._home, op,
                                      {**args, "source": who.source}, actor=who.actor,
                                      on_event=on_event, timeout=timeout)
        return OPS[op].decode(raw)

    async def service_status(self, who: Who, node: str, *,
                             timeout: float = DEFAULT_TIMEOUT_S) -> tuple[ServiceStatus, ...]:
        rows: tuple[ServiceStatus, ...] = await self._call(who, "service.list",
                                                           {"node": node}, timeout)
        return rows

    async def service(self, who: Who, action: ServiceAction, node: str, service: str, *,
                      on_event: Emit | None = None, timeout: float = SERVICE_TIMEOUT_S
                      ) -> ServiceResult:
        result: ServiceResult = await self._call(
            who, f"service.{action.value}", {"node": node, "service": service}, timeout,
            on_event)
        return result

    async def served_certificate(self, who: Who, node: str, port: int, *,
                                 timeout: float = DEFAULT_TIMEOUT_S) -> str | None:
        sha: str | None = await self._call(who, "service.served",
                                           {"node": node, "port": port}, timeout)
        return sha

    async def phones_status(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                            ) -> PhonesStatus:
        status: PhonesStatus = await self._call(who, "phones.status", {}, timeout)
        return status

    async def phones_history(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                             ) -> tuple[HistorySample, ...]:
        samples: tuple[HistorySample, ...] = await self._call(who, "phones.history", {},
                                                              timeout)
        return samples

    async def reset_phones(self, who: Who, node: str | None = None, *,
                           wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                           ) -> PhonesChange:
        change: PhonesChange = await self._call(
            who, "phones.reset", {"node": node, "wait": wait},
            timeout + (wait or 0) + (_MARGIN_S if wait else 0))
        return change

    async def delete_itl(self, who: Who, macs: Sequence[str] | str, *,
                         wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                         ) -> PhonesChange:
        change: PhonesChange = await self._call(
            who, "phones.delete_itl",
            {"macs": macs if isinstance(macs, str) else list(macs), "wait": wait},
            timeout + (wait or 0) + (_MARGIN_S if wait else 0))
        return change

    async def wait_registration(self, who: Who, wait: float = WAIT_TIMEOUT_S
                                ) -> WaitResult:
        result: WaitResult = await self._call(who, "phones.wait", {"wait": wait},
                                              wait + _MARGIN_S)
        return result


class Blocking:
    """A ``ClusterControl`` for synchronous callers, acting as ``who``.

    Without ``loop`` each call runs in a loop of its own (the CLI); with ``loop`` (an
    app's running loop) the call runs there and this thread waits for it, so the work
    is not tied to the caller's thread (a runbook in a worker thread of the console).
    """

    def __init__(self, port: ClusterControl, who: Who,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.port, self.who, self._loop = port, who, loop

    POLL_S = 1.0

    def run(self, call: Callable[[ClusterControl, Who], Awaitable[T]],
            timeout: float | None = None) -> T:
        async def main() -> T:
            return await call(self.port, self.who)

        loop = self._loop
        if loop is None:
            return asyncio.run(main())
        if loop.is_closed():
            raise _loop_stopped()
        future = asyncio.run_coroutine_threadsafe(main(), loop)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return future.result(timeout=self.POLL_S)
            except FutureTimeout:
                if loop.is_closed() or not loop.is_running():
                    future.cancel()  # the app stopped: its loop runs this call no more
                    raise _loop_stopped() from None
                if deadline is not None and time.monotonic() > deadline:
                    future.cancel()
                    raise ControlTimeout("The cluster did not answer in time",
                                         fix="Look at the service's state, then try again"
                                         ) from None


def _loop_stopped() -> SystemFailure:
    return SystemFailure("The console stopped while the runbook ran", code="console-stopped",
                         fix="Start the cluster again, then resume the runbook")
