"""The running cluster, as the faces reach it: requests to the ``serve`` of a home."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from uccerts.runtime import control

Emit = Callable[[str], None]


class ControlClient:
    def __init__(self, home: Path, *, actor: str, source: str = "cli") -> None:
        self._home, self._actor, self._source = home, actor, source

    def _call(self, op: str, args: dict[str, Any] | None = None, on_event: Emit | None = None,
              timeout: float = 600.0) -> Any:
        return control.call(self._home, op, {**(args or {}), "source": self._source},
                            actor=self._actor, on_event=on_event, timeout=timeout)

    def call(self, op: str, args: dict[str, Any] | None = None,
             on_event: Emit | None = None) -> Any:
        """Any control operation (see ``services.serve.Operations``)."""
        return self._call(op, args, on_event)

    def service_list(self, node: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("service.list", {"node": node})
        return result

    def service(self, action: str, node: str, service: str, on_event: Emit | None = None
                ) -> dict[str, Any]:
        """``action``: restart, start, stop, activate or deactivate."""
        result: dict[str, Any] = self._call(f"service.{action}",
                                            {"node": node, "service": service}, on_event)
        return result

    def phones_status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("phones.status")
        return result

    def phones_history(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("phones.history")
        return result

    def phones_reset(self, node: str | None = None, *, wait: bool = False,
                     timeout: float = 120.0) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "phones.reset", {"node": node, "wait": wait, "timeout": timeout},
            timeout=timeout + 30)
        return result

    def phones_delete_itl(self, macs: Sequence[str] = (), *, all_phones: bool = False,
                          wait: bool = False, timeout: float = 120.0) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "phones.delete_itl", {"macs": list(macs), "all": all_phones, "wait": wait,
                                  "timeout": timeout}, timeout=timeout + 30)
        return result

    def phones_wait(self, timeout: float = 120.0) -> dict[str, Any]:
        result: dict[str, Any] = self._call("phones.wait", {"timeout": timeout},
                                            timeout=timeout + 30)
        return result


class ClusterControl(Protocol):
    """The running cluster for faces served inside ``serve`` (or beside it)."""

    async def call(self, op: str, args: dict[str, Any], *, actor: str, source: str,
                   on_event: Emit | None = None) -> Any: ...


class SocketControl:
    """``ClusterControl`` through the control socket of a home (outside ``serve``)."""

    def __init__(self, home: Path) -> None:
        self._home = home

    async def call(self, op: str, args: dict[str, Any], *, actor: str, source: str,
                   on_event: Emit | None = None) -> Any:
        import asyncio

        return await asyncio.to_thread(control.call, self._home, op,
                                       {**args, "source": source}, actor=actor,
                                       on_event=on_event)
