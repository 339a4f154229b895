"""Service actions started from Control Center, run apart from the request.

Restarting Cisco Tomcat from the console that this very Tomcat serves ends every open
connection, the one of the request included; a restart run inside that request would
be cancelled half way (stopped, never started again). So an action runs as its own
task, started only once the response that shows its page has been sent (a background
task of the response), and the page follows its events through a small JSON poll that
waits out the moment the listener is down.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from uccerts.errors import UccertsError

Emit = Callable[[str], None]
Work = Callable[[Emit], Awaitable[Any]]
KEEP = 50  # finished jobs kept for their pages


@dataclass
class Job:
    id: str
    owner: str
    title: str
    node: str
    service: str
    action: str
    events: list[str] = field(default_factory=list)
    done: bool = False
    error: dict[str, str] | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "node": self.node,
                "service": self.service, "action": self.action, "events": list(self.events),
                "done": self.done, "ok": self.done and self.error is None,
                "error": self.error, "result": self.result}


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def create(self, owner: str, node: str, service: str, action: str) -> Job:
        finished = [j for j in self._jobs.values() if j.done]
        for old in finished[:max(0, len(finished) - KEEP)]:
            del self._jobs[old.id]
        job = Job(secrets.token_urlsafe(12), owner, f"{action.title()} {service} on {node}",
                  node, service, action)
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def launch(self, job: Job, work: Work) -> None:
        """Run ``work`` as its own task (call from the event loop)."""
        task = asyncio.get_running_loop().create_task(self._run(job, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job, work: Work) -> None:
        try:
            result = await work(job.events.append)
            job.result = _result(result)
        except UccertsError as err:
            job.error = {"code": err.code, "message": err.message, "fix": err.fix or ""}
        except Exception as exc:  # a bug: the page must still end, and say so
            job.error = {"code": "internal-error",
                         "message": f"Unexpected internal error ({type(exc).__name__}): {exc}",
                         "fix": "See the serve log"}
        finally:
            job.done = True

    async def wait(self) -> None:
        """Until every running job has ended (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _result(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    keep = ("service", "state", "ports", "certificate_sha256")
    return {k: value[k] for k in keep if k in value}
