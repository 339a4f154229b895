"""Every activated service of every node as a listener, with the appliance's states.

A service serves what it loaded when it last started. ``start`` asks the services
layer for the current material (``Hooks.prepare``) and records it
(``Hooks.save_load``), so a ``serve`` started again after a crash brings each
service back with what it had, not with what the store holds now.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509

from uccerts.domain.model import ServiceLoad
from uccerts.domain.purposes import SERVICES, Service, service
from uccerts.domain.signedfile import cert_sha256
from uccerts.domain.states import SERVICE, ServiceState
from uccerts.errors import NotFound, Refused, SystemFailure
from uccerts.runtime.asgi import App
from uccerts.runtime.behaviours import Loaded, NoPhones, PhoneSide, behaviour
from uccerts.runtime.listener import Handler, Listener
from uccerts.runtime.ports import Database, Endpoint, Hooks, NodePlan
from uccerts.runtime.tlsctx import server_context

Emit = Callable[[str], None]


@dataclass
class Instance:
    node: NodePlan
    service: Service
    state: ServiceState
    load: ServiceLoad | None = None
    listeners: list[Listener] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def move(self, new: ServiceState) -> None:
        """Change state as the table allows (``domain.states.SERVICE``)."""
        self.state = SERVICE.check(self.state, new)

    @property
    def ports(self) -> tuple[int, ...]:
        return self.node.ports_of(self.service.name)

    def to_dict(self) -> dict[str, Any]:
        bound = [lst.port for lst in self.listeners]
        cert = self.load.certificate if self.load and self.state is ServiceState.STARTED else None
        return {"service": self.service.name, "state": self.state.value,
                "port": bound[0] if bound else (self.ports[0] if self.ports else None),
                "ports": bound, "certificate_sha256": cert_sha256(cert) if cert else None,
                "warnings": list(self.warnings)}


class Supervisor:
    def __init__(self, nodes: Sequence[NodePlan], hooks: Hooks, db: Database,
                 *, warn: Emit = lambda _: None) -> None:
        self._nodes = {n.hostname.lower(): n for n in nodes}
        self._hooks, self._db, self._warn = hooks, db, warn
        self.phones: PhoneSide = NoPhones()
        # What Cisco Tomcat serves over HTTPS on a node: an ASGI app (node -> app);
        # None: a plain status page.
        self.web: Callable[[str], App] | None = None
        self._apps: dict[str, App] = {}
        self._instances: dict[tuple[str, str], Instance] = {}
        for node in nodes:
            for svc in SERVICES:
                state = (ServiceState.STOPPED if svc.name in node.activated
                         else ServiceState.NOT_ACTIVATED)
                self._instances[(node.hostname.lower(), svc.name)] = Instance(node, svc, state)

    # ------------------------------------------------------------ look-ups

    def node(self, hostname: str) -> NodePlan:
        plan = self._nodes.get(hostname.strip().lower())
        if plan is None:
            plan = next((n for n in self._nodes.values()
                         if hostname.strip().lower().startswith(n.hostname.lower() + ".")),
                        None)
        if plan is None:
            raise NotFound(f"Unknown node '{hostname}'", code="unknown-node",
                           fix="Use one of: " + ", ".join(n.hostname for n in self._nodes.values()))
        return plan

    def instance(self, hostname: str, name: str) -> Instance:
        return self._instances[(self.node(hostname).hostname.lower(), service(name).name)]

    def status(self, hostname: str) -> list[dict[str, Any]]:
        plan = self.node(hostname)
        return [self._instances[(plan.hostname.lower(), s.name)].to_dict() for s in SERVICES]

    def endpoint(self, hostname: str, name: str) -> Endpoint | None:
        """Where ``name`` listens on the node (its first port), if it is activated."""
        inst = self.instance(hostname, name)
        if inst.state is ServiceState.NOT_ACTIVATED or not inst.ports:
            return None
        return Endpoint(inst.node.hostname, inst.node.address, inst.ports[0])

    def served(self, hostname: str, name: str) -> ServiceLoad | None:
        inst = self.instance(hostname, name)
        return inst.load if inst.state is ServiceState.STARTED else None

    # ------------------------------------------------------------ life cycle

    async def start_all(self, saved: Sequence[ServiceLoad]) -> None:
        """Bring every activated service up as it was: STOPPED stays stopped, a
        STARTED one with the certificate it had loaded."""
        by_key = {(s.node.lower(), s.service): s for s in saved}
        for inst in sorted(self._instances.values(),
                           key=lambda i: (i.service.boot_rank, i.node.hostname)):
            if inst.state is ServiceState.NOT_ACTIVATED:
                continue
            before = by_key.get((inst.node.hostname.lower(), inst.service.name))
            if before is not None and before.state == ServiceState.STOPPED:
                inst.load = before
                continue
            reuse = before if before is not None and before.certificate is not None else None
            try:
                await self._start(inst, lambda _: None, reuse=reuse)
            except SystemFailure as err:
                self._warn(f"{inst.service.name} on {inst.node.hostname}: {err.message}")

    async def stop_all(self) -> None:
        for inst in self._instances.values():
            for listener in inst.listeners:
                await listener.stop()
            inst.listeners.clear()

    async def restart(self, hostname: str, name: str, emit: Emit) -> dict[str, Any]:
        inst = self._activated(hostname, name)
        async with inst.lock:
            await self._stop(inst, emit)
            await self._start(inst, emit)
        return inst.to_dict()

    async def start(self, hostname: str, name: str, emit: Emit) -> dict[str, Any]:
        inst = self._activated(hostname, name)
        async with inst.lock:
            if inst.state is ServiceState.STARTED:
                emit(f"{inst.service.name}[STARTED]")
            else:
                await self._start(inst, emit)
        return inst.to_dict()

    async def stop(self, hostname: str, name: str, emit: Emit) -> dict[str, Any]:
        inst = self._activated(hostname, name)
        async with inst.lock:
            if inst.state is ServiceState.STOPPED:
                emit(f"{inst.service.name}[STOPPED]")
            else:
                await self._stop(inst, emit)
        return inst.to_dict()

    async def activate(self, hostname: str, name: str, emit: Emit) -> dict[str, Any]:
        inst = self.instance(hostname, name)
        async with inst.lock:
            if inst.state is ServiceState.NOT_ACTIVATED:
                if inst.node.role not in inst.service.roles:
                    raise Refused(f"{inst.service.name} does not run on {inst.node.hostname}",
                                  code="service-not-for-role",
                                  fix="See domain.md §8 for where each service runs")
                await self._db.run(self._hooks.set_activated, inst.node.hostname,
                                   inst.service.name, True)
                inst.move(ServiceState.STOPPED)
                await self._start(inst, emit)
            else:
                emit(f"{inst.service.name}[{inst.state.value}]")
        return inst.to_dict()

    async def deactivate(self, hostname: str, name: str, emit: Emit) -> dict[str, Any]:
        inst = self.instance(hostname, name)
        async with inst.lock:
            if inst.state is not ServiceState.NOT_ACTIVATED:
                if inst.state is ServiceState.STARTED:
                    await self._stop(inst, emit)
                await self._db.run(self._hooks.set_activated, inst.node.hostname,
                                   inst.service.name, False)
                inst.move(ServiceState.NOT_ACTIVATED)
                inst.load = None
            emit(f"{inst.service.name}[{ServiceState.NOT_ACTIVATED.value}]")
        return inst.to_dict()

    # ------------------------------------------------------------ internals

    def _activated(self, hostname: str, name: str) -> Instance:
        inst = self.instance(hostname, name)
        if inst.state is ServiceState.NOT_ACTIVATED:
            raise Refused(f"{inst.service.name} is not activated on {inst.node.hostname}",
                          code="service-not-activated",
                          fix=f"Activate {inst.service.name} on {inst.node.hostname} first")
        return inst

    async def _stop(self, inst: Instance, emit: Emit) -> None:
        inst.move(ServiceState.STOPPING)
        emit(f"{inst.service.name}[STOPPING]")
        behaviour(inst.service.kind).stopped(self.phones, inst.node.hostname)
        for listener in inst.listeners:
            await listener.stop()
        inst.listeners.clear()
        inst.move(ServiceState.STOPPED)
        if inst.load is not None:
            inst.load = replace(inst.load, state=ServiceState.STOPPED)
            await self._db.run(self._hooks.save_load, inst.load)
        emit(f"{inst.service.name}[STOPPED]")

    async def _start(self, inst: Instance, emit: Emit, *, reuse: ServiceLoad | None = None
                     ) -> None:
        inst.move(ServiceState.STARTING)
        emit(f"{inst.service.name}[STARTING]")
        try:
            fresh = reuse if reuse is not None else await self._db.run(
                self._hooks.prepare, inst.node.hostname, inst.service.name)
            load = replace(fresh, state=ServiceState.STARTED)
            ecdsa = await self._db.run(self._hooks.ecdsa_load, inst.node.hostname,
                                       inst.service.name)
            handler, tls = self._behaviour(inst, load, ecdsa)
            inst.warnings = []
            listeners = await self._bind(inst, handler, tls)
        except BaseException:
            inst.move(ServiceState.STOPPED)
            raise
        inst.listeners, inst.load = listeners, load
        inst.move(ServiceState.STARTED)
        await self._db.run(self._hooks.save_load, load)
        emit(f"{inst.service.name}[STARTED]")
        behaviour(inst.service.kind).started(self.phones, inst.node.hostname)

    async def _bind(self, inst: Instance, handler: Handler, tls: ssl.SSLContext | None
                    ) -> list[Listener]:
        shared = self._shared_ports(inst.node)
        listeners: list[Listener] = []
        for port in inst.ports:
            listener = Listener(inst.node.address, port, handler, tls,
                                reuse_port=port in shared)
            try:
                await listener.start()
            except OSError as err:
                # Never silently: a port that cannot be bound is reported and skipped.
                text = (f"port {port} on {inst.node.address} cannot be bound "
                        f"({err.strerror or err}); skipped")
                inst.warnings.append(text)
                self._warn(f"{inst.service.name} on {inst.node.hostname}: {text}")
                continue
            listeners.append(listener)
        if not listeners:
            raise SystemFailure(
                f"{inst.service.name} on {inst.node.hostname} could not bind any port "
                f"({', '.join(inst.warnings)})",
                code="service-bind-failed",
                fix="Free the port, or set another in the topology's ports table")
        return listeners

    def _shared_ports(self, node: NodePlan) -> set[int]:
        # DRF Master and DRF Local both listen on 4040 on the publisher: the kernel
        # shares a port between sockets that all ask for it (SO_REUSEPORT).
        counts = Counter(p for name in node.activated for p in node.ports_of(name))
        return {p for p, n in counts.items() if n > 1}

    def _behaviour(self, inst: Instance, load: ServiceLoad, ecdsa: ServiceLoad | None = None
                   ) -> tuple[Handler, ssl.SSLContext | None]:
        svc, node = inst.service, inst.node.hostname
        if load.certificate is None or load.key is None:
            raise SystemFailure(f"{svc.name} on {node} has no certificate to load",
                                code="service-no-certificate",
                                fix=f"Regenerate the {svc.certificate} certificate "
                                    f"of {node}")
        loaded = Loaded(node, svc, load.certificate, load.key, load.snapshot, self.phones,
                        lambda: self._app(node))
        handler = behaviour(svc.kind).serve(loaded)
        if not svc.tls:
            return handler, None
        also = (None if ecdsa is None or ecdsa.certificate is None or ecdsa.key is None
                else (ecdsa.certificate, ecdsa.key, _chain(ecdsa)))
        return handler, server_context(load.certificate, load.key, _chain(load), ecdsa=also)

    def _app(self, node: str) -> App | None:
        """The node's ASGI app, made once and kept across restarts of its Tomcat."""
        if self.web is None:
            return None
        return self._apps.get(node) or self._apps.setdefault(node, self.web(node))


def _chain(load: ServiceLoad) -> list[x509.Certificate]:
    """The intermediates a TLS service sends after its certificate: its snapshot, as
    PEM (prepared from the trust store when it started)."""
    if not load.snapshot.startswith(b"-----BEGIN"):
        return []
    return x509.load_pem_x509_certificates(load.snapshot)
