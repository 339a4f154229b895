"""What the runtime needs from the rest of the system, and the plain values it takes.

The services layer implements ``Hooks`` over storage; the runtime calls it from one
worker thread (``Database``), never from the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypeVar

from uccerts.domain.model import ServiceLoad
from uccerts.domain.purposes import Role

T = TypeVar("T")


@dataclass(frozen=True)
class Endpoint:
    node: str
    address: str
    port: int


@dataclass(frozen=True)
class NodePlan:
    """A node as the runtime runs it: where it listens and what is activated."""

    hostname: str
    address: str
    role: Role
    activated: frozenset[str]  # full service names
    ports: dict[str, tuple[int, ...]] = field(default_factory=dict)  # by full service name

    def ports_of(self, service: str) -> tuple[int, ...]:
        return self.ports.get(service, ())


@dataclass(frozen=True)
class PhoneSetup:
    mac: str
    tftp_node: str
    cm_node: str
    itl: bytes | None = None
    ctl: bytes | None = None


@dataclass(frozen=True)
class PhoneTrust:
    """A phone's accepted trust lists, to persist (files by content)."""

    mac: str
    itl: bytes | None
    ctl: bytes | None


@dataclass(frozen=True)
class Change:
    """One audited change made through the control endpoint."""

    actor: str
    source: str
    action: str
    outcome: str
    node: str = ""
    detail: str = ""


class Hooks(Protocol):
    def prepare(self, node: str, service: str) -> ServiceLoad:
        """What ``service`` on ``node`` loads when it starts now (certificate, key,
        prepared files) — read from the store at this moment."""

    def ecdsa_load(self, node: str, service: str) -> ServiceLoad | None:
        """The ECDSA identity ``service`` also presents to clients that take only
        ECDSA (Tomcat: tomcat-ECDSA), read now; None for other services."""

    def saved_loads(self) -> Sequence[ServiceLoad]: ...

    def save_load(self, load: ServiceLoad) -> None: ...

    def set_activated(self, node: str, service: str, activated: bool) -> None: ...

    def save_phone_trust(self, updates: Sequence[PhoneTrust]) -> None: ...

    def record(self, change: Change) -> None: ...


class Database:
    """Runs blocking store calls on one worker thread, in order.

    A daemon thread rather than an executor: a store call that hangs (a database
    that stopped answering) must not keep a stopped ``serve`` from exiting.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="uccerts-db", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def settle(outcome: Callable[[], None]) -> None:
            if not done.done():
                outcome()

        def hand_back(outcome: Callable[[], None]) -> None:
            # A loop that is gone (serve stopped) has nobody waiting for this answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, outcome)

        def job() -> None:
            try:
                result = fn(*args)
            except BaseException as err:  # handed to the awaiting coroutine
                hand_back(partial(done.set_exception, err))
            else:
                hand_back(partial(done.set_result, result))

        self._jobs.put(job)
        return await done

    def close(self, *, wait: bool = True) -> None:
        self._jobs.put(None)
        if wait:
            self._thread.join()
