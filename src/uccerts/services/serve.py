"""``serve``: the whole cluster running in one process until SIGINT/SIGTERM.

Composition of the runtime (listeners, phones, control endpoint) over the store
hooks, and the control operations the other faces call (``services.control``).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uccerts.domain.model import Node
from uccerts.domain.purposes import SERVICES, service
from uccerts.errors import UccertsError, UsageError
from uccerts.runtime.control import SOCKET_NAME, ControlServer
from uccerts.runtime.lockfile import ServeLock
from uccerts.runtime.phones import Fleet
from uccerts.runtime.ports import Change, Database, NodePlan, PhoneTrust
from uccerts.runtime.supervisor import Supervisor
from uccerts.services.context import Context, resolve_cluster
from uccerts.services.serve_store import StoreHooks

Say = Callable[[str], None]
# The console and APIs a node's Cisco Tomcat serves: (node, cluster control) -> ASGI app.
WebFactory = Callable[[str, "LocalControl"], Any]
DEFAULT_WAIT_S = 120.0
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
        fleet = Fleet(setups, supervisor.endpoint, persist)
        supervisor.phones = fleet
        operations = Operations(supervisor, fleet, hooks, db)
        control = ControlServer(self._home / SOCKET_NAME, operations.dispatch)
        if web is not None:
            local = LocalControl(operations)
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
                              if s["state"] != "NOT ACTIVATED"]} for n in nodes),
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
    """``ClusterControl`` inside ``serve``: the operations called directly."""

    def __init__(self, operations: Operations) -> None:
        self._ops = operations

    async def call(self, op: str, args: dict[str, Any], *, actor: str, source: str,
                   on_event: Callable[[str], None] | None = None) -> Any:
        return await self._ops.dispatch(op, {**args, "source": source}, actor,
                                        on_event or (lambda _: None))


class Operations:
    """The control endpoint's operations; each change is audited."""

    def __init__(self, supervisor: Supervisor, fleet: Fleet, hooks: StoreHooks,
                 db: Database) -> None:
        self._sup, self._fleet, self._hooks, self._db = supervisor, fleet, hooks, db

    async def dispatch(self, op: str, args: dict[str, Any], actor: str,
                       emit: Callable[[str], None]) -> Any:
        handler = getattr(self, "op_" + op.replace(".", "_").replace("-", "_"), None)
        if handler is None:
            raise UsageError(f"Unknown control operation {op}", code="control-unknown-op")
        source = str(args.pop("source", "cli"))
        return await handler(args, _Who(actor, source), emit)

    async def _audit(self, who: _Who, action: str, outcome: str, node: str = "",
                     detail: str = "") -> None:
        await self._db.run(self._hooks.record,
                           Change(who.actor, who.source, action, outcome, node, detail))

    async def op_ping(self, args: dict[str, Any], who: _Who, emit: Any) -> dict[str, Any]:
        return {"running": True}

    async def op_service_list(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        """Each service with what it serves and what the store holds now: a service
        whose certificate changed since it started needs a restart."""
        plan = self._sup.node(_text(args, "node"))
        rows = self._sup.status(plan.hostname)
        installed = await self._db.run(self._hooks.installed, plan.hostname)
        for row in rows:
            purpose = service(row["service"]).certificate
            row["installed_sha256"] = installed.get(purpose or "")
            row["restart_needed"] = (row["state"] == "STARTED" and
                                     row["installed_sha256"] != row["certificate_sha256"])
        return rows

    async def _service(self, action: str, args: dict[str, Any], who: _Who,
                       emit: Callable[[str], None]) -> Any:
        node, name = _text(args, "node"), _text(args, "service")
        plan = self._sup.node(node)
        try:
            result = await getattr(self._sup, action)(plan.hostname, name, emit)
        except UccertsError as err:
            await self._audit(who, f"service {action}", "refused", plan.hostname,
                              f"{name}: {err.message}")
            raise
        await self._audit(who, f"service {action}", "ok", plan.hostname, result["service"])
        return result

    async def op_service_restart(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return await self._service("restart", args, who, emit)

    async def op_service_start(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return await self._service("start", args, who, emit)

    async def op_service_stop(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return await self._service("stop", args, who, emit)

    async def op_service_activate(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return await self._service("activate", args, who, emit)

    async def op_service_deactivate(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return await self._service("deactivate", args, who, emit)

    async def op_phones_status(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return self._fleet.status()

    async def op_phones_history(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return self._fleet.monitor.history()

    async def op_phones_reset(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        node = args.get("node")
        hostname = self._sup.node(str(node)).hostname if node else None
        count = self._fleet.reset(self._fleet.select(node=hostname))
        await self._audit(who, "phones reset", "ok", hostname or "",
                          f"{count} phone(s) reset")
        return await self._settle(args, {"reset": count})

    async def op_phones_delete_itl(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        macs = args.get("macs")
        if args.get("all"):
            chosen = self._fleet.select()
        elif isinstance(macs, list) and macs:
            chosen = self._fleet.select([str(m) for m in macs])
        else:
            raise UsageError("Say which phones: --all or one or more MACs",
                             code="phones-none-selected",
                             fix="uccerts phones delete-itl --all | MAC…")
        count = await self._fleet.delete_itl(chosen)
        await self._audit(who, "phones delete-itl", "ok",
                          detail=f"{count} phone(s): ITL erased and reset")
        return await self._settle(args, {"deleted": count})

    async def op_phones_wait(self, args: dict[str, Any], who: _Who, emit: Any) -> Any:
        return await self._settle({"wait": True, **args}, {})

    async def _settle(self, args: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        if args.get("wait"):
            timeout = float(args.get("timeout") or DEFAULT_WAIT_S)
            result["settled"] = await self._fleet.wait(timeout)
            result["status"] = self._fleet.status()
        return result


@dataclass(frozen=True)
class _Who:
    actor: str
    source: str


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"Missing {key}", code="control-bad-request")
    return value
