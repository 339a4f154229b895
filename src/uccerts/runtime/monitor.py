"""Registration monitoring (the seed's RTMT): counts per node and state, and their
history, sampled once a second while they change."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from uccerts.domain.control import PhoneState  # one set of states, the port's

__all__ = ["HISTORY", "Monitor", "PhoneState"]


HISTORY = 3600  # samples kept: an hour of one-second changes


class Monitor:
    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self._clock = clock  # the wall clock of the samples' "at" (the services' clock)
        self.counts: Counter[tuple[str, PhoneState]] = Counter()
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._changed = True
        self._task: asyncio.Task[None] | None = None

    def moved(self, node: str, old: PhoneState | None, new: PhoneState) -> None:
        if old is not None:
            self.counts[(node, old)] -= 1
        self.counts[(node, new)] += 1
        self._changed = True

    def by_state(self) -> dict[str, int]:
        totals = {s.value: 0 for s in PhoneState}
        for (_, state), n in self.counts.items():
            totals[state.value] += n
        return totals

    def by_node(self) -> dict[str, dict[str, int]]:
        nodes: dict[str, dict[str, int]] = {}
        for (node, state), n in sorted(self.counts.items()):
            nodes.setdefault(node, {s.value: 0 for s in PhoneState})[state.value] += n
        return nodes

    def sample(self) -> None:
        if not self._changed:
            return
        self._changed = False
        self._history.append({"at": self._clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                              "by_state": self.by_state(), "by_node": self.by_node()})

    def history(self) -> list[dict[str, Any]]:
        self.sample()
        return list(self._history)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
