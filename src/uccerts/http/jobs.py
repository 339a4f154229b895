"""Work that outlives its request: one runner per node's app, shared by the console
and the APIs, with typed jobs, and the one rule on when an action must wait for the
answer to leave.

A job's task is held by the runner (the app), never by a request: a client that goes
away does not cancel a restart half way (domain.md §12). Stopping or restarting the
Cisco Tomcat that serves the request cuts the connection the answer travels on, so
such an action starts only once the answer is out (``after_answer``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
from starlette.background import BackgroundTask

from uccerts.domain.control import ServiceAction
from uccerts.domain.purposes import Service, ServiceKind
from uccerts.errors import UccertsError

KEEP = 50  # finished jobs kept for their pages
T = TypeVar("T")
Emit = Callable[[str], None]

# A Tomcat stopping or restarting closes its listener, and every connection with it.
_CUTS_OWN_CONNECTION = frozenset({ServiceAction.RESTART, ServiceAction.STOP,
                                  ServiceAction.DEACTIVATE})


def cuts_own_connection(served_node: str, node: str, service: Service,
                        action: ServiceAction) -> bool:
    """Whether ``action`` on ``service`` of ``node`` ends the connection of a request
    served by ``served_node``'s Tomcat (a host name, or the FQDN it begins)."""
    served, wanted = served_node.lower(), node.strip().lower()
    return (service.kind is ServiceKind.TOMCAT and action in _CUTS_OWN_CONNECTION
            and (wanted == served or wanted.startswith(served + ".")))


@dataclass
class Job:
    """Something running for ``owner``: done once it ended, ``error`` if it failed."""

    id: str
    owner: str
    done: bool = False
    error: dict[str, str] | None = None

    def failed(self, exc: Exception) -> None:
        if isinstance(exc, UccertsError):
            self.error = {"code": exc.code, "message": exc.message, "fix": exc.fix or ""}
        else:  # a bug: the page must still end, and say so
            self.error = {"code": "internal-error",
                          "message": f"Unexpected internal error ({type(exc).__name__}): "
                                     f"{exc}",
                          "fix": "See the serve log"}


@dataclass
class ServiceJob(Job):
    """A service action from Control Center, with the events it went through."""

    node: str = ""
    service: str = ""
    action: str = ""
    events: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.action.title()} {self.service} on {self.node}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "node": self.node,
                "service": self.service, "action": self.action, "events": list(self.events),
                "done": self.done, "ok": self.done and self.error is None,
                "error": self.error, "result": self.result}


J = TypeVar("J", bound=Job)


def new_id() -> str:
    return secrets.token_urlsafe(12)


class JobRunner:
    """The app's tasks and jobs. Call its task-starting methods from the app's loop."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    def add(self, job: J) -> J:
        finished = [j for j in self._jobs.values() if j.done and type(j) is type(job)]
        for old in finished[:max(0, len(finished) - KEEP)]:
            del self._jobs[old.id]
        self._jobs[job.id] = job
        return job

    def get(self, kind: type[J], job_id: str, owner: str) -> J | None:
        job = self._jobs.get(job_id)
        return job if isinstance(job, kind) and job.owner == owner else None

    def of(self, kind: type[J]) -> list[J]:
        return [j for j in self._jobs.values() if isinstance(j, kind)]

    def keep(self, work: Awaitable[T]) -> asyncio.Future[T]:
        """Run ``work`` as a task the runner holds until it ends."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def launch(self, job: Job, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` for ``job``: its failure is the job's error, never raised."""
        self.keep(self._run(job, work))

    def launch_in_thread(self, job: J, work: Callable[[J], None]) -> None:
        """Run blocking ``work`` in a worker thread, abandoned (not waited for) if the
        app stops."""
        self.launch(job, lambda: anyio.to_thread.run_sync(work, job, abandon_on_cancel=True))

    def after_answer(self, start: Callable[[], object], delay_s: float = 0.0
                     ) -> BackgroundTask:
        """A response's background task that calls ``start`` once the answer is sent
        (``delay_s`` later: the last bytes leave before a listener closes)."""
        async def later() -> None:
            if delay_s:
                await asyncio.sleep(delay_s)
            start()

        async def begin() -> None:
            self.keep(later())

        return BackgroundTask(begin)

    async def _run(self, job: Job, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception as exc:
            job.failed(exc)
        finally:
            job.done = True

    async def wait(self) -> None:
        """Until every running task has ended (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
