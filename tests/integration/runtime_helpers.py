"""Helpers for the runtime integration tests: loopback addresses of their own, what a
TLS client sees, and a whole cluster running in-process over a real store.

Addresses: every test takes a random ``127.<100-199>.x.y`` block (tests/live.py uses
``127.200+``) and checks that the ports it needs are free there, so tests running in
parallel (pytest-xdist, other runs) never meet on a listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from clusters import KeyPool
from uccerts.bootstrap import Services, build_from_uow
from uccerts.domain.model import ServiceLoad
from uccerts.domain.purposes import SERVICES
from uccerts.runtime.phones import Fleet
from uccerts.runtime.ports import Database, PhoneTrust
from uccerts.runtime.supervisor import Supervisor
from uccerts.services.clock import utc_now
from uccerts.services.serve import node_plan
from uccerts.services.serve_store import StoreHooks
from uccerts.storage.ports import UowFactory

T = TypeVar("T")
TIMEOUT_S = 20.0  # the bound on any single await in these tests
ALL_PORTS = sorted({p for s in SERVICES for p in s.ports})
_rng = random.Random()


async def bounded(aw: Awaitable[T], timeout: float = TIMEOUT_S) -> T:
    return await asyncio.wait_for(aw, timeout)


def _free(address: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def loopback_block(count: int, ports: Sequence[int] = ALL_PORTS) -> list[str]:
    """``count`` loopback addresses, of one random block, where ``ports`` are free."""
    for _ in range(50):
        prefix = f"127.{_rng.randrange(100, 200)}.{_rng.randrange(0, 256)}."
        base = _rng.randrange(1, 250 - count)
        addresses = [f"{prefix}{base + i}" for i in range(count)]
        if all(_free(a, p) for a in addresses for p in ports):
            return addresses
    raise AssertionError("no free loopback block found")


def free_port(address: str) -> int:
    """A port free on ``address`` now (the kernel's pick for port 0)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port


# ------------------------------------------------------------------ TLS client side


def client_context(cafile_pem: bytes | None = None) -> ssl.SSLContext:
    """Trusts only ``cafile_pem`` (and checks the host name), or nothing at all."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile_pem is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(cadata=cafile_pem.decode())
    return ctx


async def handshake(address: str, port: int, ctx: ssl.SSLContext | None = None,
                    server_hostname: str | None = None) -> bytes:
    """DER of the certificate a TLS client receives from ``address:port``."""
    _, writer = await bounded(asyncio.open_connection(
        address, port, ssl=ctx or client_context(),
        server_hostname=server_hostname or (None if ctx is None else address),
        ssl_handshake_timeout=TIMEOUT_S))
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await bounded(writer.wait_closed(), 5)
    assert der, "the server presented no certificate"
    return bytes(der)


async def served_sha256(address: str, port: int) -> str:
    return hashlib.sha256(await handshake(address, port)).hexdigest()


async def refused(address: str, port: int) -> bool:
    """True when nothing listens on ``address:port`` (connection refused)."""
    try:
        _, writer = await bounded(asyncio.open_connection(address, port), 5)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


# ------------------------------------------------------------------ a running cluster


def topology(addresses: Sequence[str], *, phones: int = 6, security_mode: int = 0,
             name: str = "lab") -> str:
    pub, sub, imp = addresses
    return f"""
[cluster]
name = "{name}"
domain = "uc.example"
security_mode = {security_mode}

[[nodes]]
name = "cucm-pub"
role = "publisher"
address = "{pub}"

[[nodes]]
name = "cucm-sub1"
role = "subscriber"
address = "{sub}"

[[nodes]]
name = "imp-pub"
role = "imp"
address = "{imp}"

[phones]
count = {phones}
"""


def make_cluster(uow: UowFactory, *, phones: int = 6) -> tuple[Services, dict[str, str]]:
    """A three-node cluster (publisher, subscriber, IM and Presence) on a loopback
    block of its own, created with fast keys; returns it with the node addresses."""
    addresses = loopback_block(3)
    services = build_from_uow(uow, actor="tester", source="test", keygen=KeyPool())
    services.clusters.init(topology(addresses, phones=phones))
    return services, dict(zip(("cucm-pub", "cucm-sub1", "imp-pub"), addresses, strict=True))


@dataclass
class Running:
    """Supervisor + fleet + store hooks, as ``ServeService._main`` wires them."""

    supervisor: Supervisor
    fleet: Fleet
    hooks: StoreHooks
    db: Database
    warnings: list[str] = field(default_factory=list)

    async def events(self, action: str, node: str, service: str) -> list[str]:
        seen: list[str] = []
        await bounded(getattr(self.supervisor, action)(node, service, seen.append))
        return seen

    async def settled(self) -> dict[str, Any]:
        assert await self.fleet.wait(TIMEOUT_S), "phones did not settle"
        return self.fleet.status()


@contextlib.asynccontextmanager
async def running(services: Services, *, saved: Sequence[ServiceLoad] | None = None,
                  start_phones: bool = True) -> AsyncIterator[Running]:
    """The cluster of ``services`` running; ``saved``: the loads to come back with
    (default: what the store holds, as ``serve`` does)."""
    ctx = services.ctx
    with ctx.read() as uow:
        cluster = uow.clusters.list()[0]
        nodes = uow.clusters.nodes(cluster.name)
    hooks = StoreHooks(ctx, cluster.name)
    db = Database()
    warnings: list[str] = []
    supervisor = Supervisor([node_plan(n) for n in nodes], hooks, db, warn=warnings.append)

    async def persist(updates: Sequence[PhoneTrust]) -> None:
        await db.run(hooks.save_phone_trust, updates)

    fleet = Fleet(await bounded(db.run(hooks.phones)), supervisor.endpoint, persist,
                  clock=utc_now)
    supervisor.phones = fleet
    run = Running(supervisor, fleet, hooks, db, warnings)
    try:
        loads = saved if saved is not None else await bounded(db.run(hooks.saved_loads))
        await bounded(supervisor.start_all(loads))
        if start_phones:
            fleet.start()
        yield run
    finally:
        await bounded(fleet.stop())
        await bounded(supervisor.stop_all())
        db.close()
