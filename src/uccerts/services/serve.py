"""``serve``: the whole cluster running in one process until SIGINT/SIGTERM.

Composition of the runtime (listeners, phones, control endpoint) over the store
hooks, and ``LocalControl``: the ``ClusterControl`` port the faces served inside
``serve`` call directly, and the control socket serves to the others.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uccerts.domain.control import (
    ALL_PHONES,
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
from uccerts.domain.model import Node
from uccerts.domain.purposes import SERVICES, service
from uccerts.domain.states import ServiceState
from uccerts.errors import UccertsError, UsageError
from uccerts.runtime.control import SOCKET_NAME, ControlServer
from uccerts.runtime.control_codec import dispatcher, history, service_state
from uccerts.runtime.control_codec import phones_status as codec_phones_status
from uccerts.runtime.lockfile import ServeLock
from uccerts.runtime.phones import Fleet
from uccerts.runtime.ports import Change, Database, NodePlan, PhoneTrust
from uccerts.runtime.supervisor import Supervisor
from uccerts.services.context import Context, resolve_cluster
from uccerts.services.serve_store import StoreHooks

Say = Callable[[str], None]
# The console and APIs a node's Cisco Tomcat serves: (node, cluster control) -> ASGI app.
WebFactory = Callable[[str, ClusterControl], Any]
SHUTDOWN_S = 10.0


def node_plan(node: Node) -> NodePlan:
    overrides = dict(node.ports)
    ports = {s.name: ((overrides[s.key],) if s.key in overrides else s.ports) for s in SERVICES}
    return NodePlan(node.hostname, node.address, node.role, frozenset(node.services), ports)


@dataclass(frozen=True)
class Running:
    """What ``serve`` prints once everything listens."""

    cluster: str
    nodes: tuple[dict[str, Any], ...]
    phones: int
    socket: str


class ServeService:
    def __init__(self, ctx: Context, home: Path) -> None:
        self._ctx, self._home = ctx, home

    def run(self, *, ready: Callable[[Running], None], warn: Say,
            web: WebFactory | None = None) -> None:
        """Run until SIGINT/SIGTERM. Refuses when another serve holds this home."""
        self._home.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = ServeLock(self._home)
        lock.acquire()
        try:
            asyncio.run(self._main(ready, warn, web))
        finally:
            lock.release()

    async def _main(self, ready: Callable[[Running], None], warn: Say,
                    web: WebFactory | None) -> None:
        with self._ctx.read() as uow:
            cluster = resolve_cluster(uow, self._ctx.cluster)
            nodes = uow.clusters.nodes(cluster.name)
        hooks = StoreHooks(self._ctx, cluster.name)
        db = Database()
        supervisor = Supervisor([node_plan(n) for n in nodes], hooks, db, warn=warn)

        async def persist(updates: list[PhoneTrust] | Any) -> None:
            await db.run(hooks.save_phone_trust, updates)

        setups = await db.run(hooks.phones)
        fleet = Fleet(setups, supervisor.endpoint, persist, clock=self._ctx.clock)
        supervisor.phones = fleet
        local = LocalControl(supervisor, fleet, hooks, db)
        control = ControlServer(self._home / SOCKET_NAME, dispatcher(local))
        if web is not None:
            supervisor.web = lambda node: web(node, local)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stop.is_set():  # a second Ctrl-C: do not wait for a clean stop
                os._exit(130)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        try:
            await supervisor.start_all(await db.run(hooks.saved_loads))
            await control.start()
            fleet.start()
            ready(Running(cluster.name, tuple(
                {"node": n.hostname, "address": n.address, "role": n.role.value,
                 "services": [s for s in supervisor.status(n.hostname)
                              if s["state"] != ServiceState.NOT_ACTIVATED]} for n in nodes),
                len(setups), str(self._home / SOCKET_NAME)))
            await stop.wait()
        finally:
            # Each step bounded: a wedged connection or store call must not keep a
            # stopped cluster's process (and its ports) alive.
            for what, step in (("the control socket", control.stop),
                               ("the phones", fleet.stop),
                               ("the listeners", supervisor.stop_all)):
                try:
                    await asyncio.wait_for(step(), SHUTDOWN_S)
                except TimeoutError:
                    warn(f"Stopping {what} took longer than {SHUTDOWN_S:.0f} s; "
                         "going on")
            db.close(wait=False)


class LocalControl:
    """``ClusterControl`` inside ``serve``: the supervisor and the fleet called directly;
    each change is audited as who asked for it.

    In process nothing is remote, so ``timeout`` bounds no wait here: a service action
    once begun runs to its end (the caller's side, the socket or a face, stops waiting
    at its timeout); a phone wait is bounded by its own ``wait``."""

    def __init__(self, supervisor: Supervisor, fleet: Fleet, hooks: StoreHooks,
                 db: Database) -> None:
        self._sup, self._fleet, self._hooks, self._db = supervisor, fleet, hooks, db

    async def _audit(self, who: Who, action: str, outcome: str, node: str = "",
                     detail: str = "") -> None:
        await self._db.run(self._hooks.record,
                           Change(who.actor, who.source, action, outcome, node, detail))

    async def service_status(self, who: Who, node: str, *,
                             timeout: float = DEFAULT_TIMEOUT_S) -> tuple[ServiceStatus, ...]:
        """Each service with what it serves and what the store holds now: a service
        whose certificate changed since it started needs a restart."""
        plan = self._sup.node(node)
        installed = await self._db.run(self._hooks.installed, plan.hostname)
        rows = []
        for row in self._sup.status(plan.hostname):
            state = service_state(row)
            sha = installed.get(service(state.service).certificate or "")
            rows.append(ServiceStatus(state, sha, state.state == ServiceState.STARTED
                                      and sha != state.certificate_sha256))
        return tuple(rows)

    async def service(self, who: Who, action: ServiceAction, node: str, service: str, *,
                      on_event: Emit | None = None, timeout: float = SERVICE_TIMEOUT_S
                      ) -> ServiceResult:
        plan = self._sup.node(node)
        events: list[str] = []

        def emit(text: str) -> None:
            events.append(text)
            if on_event is not None:
                on_event(text)

        run = {ServiceAction.RESTART: self._sup.restart, ServiceAction.START: self._sup.start,
               ServiceAction.STOP: self._sup.stop, ServiceAction.ACTIVATE: self._sup.activate,
               ServiceAction.DEACTIVATE: self._sup.deactivate}[action]
        try:
            row = await run(plan.hostname, service, emit)
        except UccertsError as err:
            await self._audit(who, f"service {action.value}", "refused", plan.hostname,
                              f"{service}: {err.message}")
            raise
        await self._audit(who, f"service {action.value}", "ok", plan.hostname,
                          row["service"])
        return ServiceResult(action, service_state(row), tuple(events))

    async def served_certificate(self, who: Who, node: str, port: int, *,
                                 timeout: float = DEFAULT_TIMEOUT_S) -> str | None:
        for row in self._sup.status(self._sup.node(node).hostname):
            if row["state"] == "STARTED" and port in row["ports"]:
                sha: str | None = row["certificate_sha256"]
                return sha
        return None

    async def phones_status(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                            ) -> PhonesStatus:
        return codec_phones_status(self._fleet.status())

    async def phones_history(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                             ) -> tuple[HistorySample, ...]:
        return history(self._fleet.monitor.history())

    async def reset_phones(self, who: Who, node: str | None = None, *,
                           wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                           ) -> PhonesChange:
        hostname = self._sup.node(node).hostname if node else None
        count = self._fleet.reset(self._fleet.select(node=hostname))
        await self._audit(who, "phones reset", "ok", hostname or "",
                          f"{count} phone(s) reset")
        return PhonesChange("reset", count, await self._settle(wait))

    async def delete_itl(self, who: Who, macs: Sequence[str] | str, *,
                         wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                         ) -> PhonesChange:
        if macs == ALL_PHONES:
            chosen = self._fleet.select()
        elif not isinstance(macs, str) and macs:
            chosen = self._fleet.select(list(macs))
        else:
            raise UsageError("Say which phones: all, or one or more MACs",
                             code="phones-none-selected",
                             fix="Choose all phones, or give their MACs")
        count = await self._fleet.delete_itl(chosen)
        await self._audit(who, "phones delete-itl", "ok",
                          detail=f"{count} phone(s): ITL erased and reset")
        return PhonesChange("deleted", count, await self._settle(wait))

    async def wait_registration(self, who: Who, wait: float = WAIT_TIMEOUT_S
                                ) -> WaitResult:
        result = await self._settle(wait)
        assert result is not None
        return result

    async def _settle(self, wait: float | None) -> WaitResult | None:
        if wait is None:
            return None
        settled = await self._fleet.wait(wait)
        return WaitResult(settled, codec_phones_status(self._fleet.status()))
