"""The states of runbooks, runbook steps and services, and which moves between them
are legal, as tables.

Each table maps a state to the states it may move to; anything else is a bug in the
caller, refused with an internal error rather than stored. The values are the strings
stored and shown (no migration: they were strings before).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from uccerts.errors import IllegalTransition


class RunbookState(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    WAITING = "waiting"  # paused on something outside (a manual CA's answer)
    DONE = "done"
    FAILED = "failed"


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ServiceState(StrEnum):
    """A service's state as the appliance names it (domain.md §8)."""

    STARTED = "STARTED"
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    STOPPING = "STOPPING"
    NOT_ACTIVATED = "NOT ACTIVATED"


S = TypeVar("S", bound=StrEnum)


class Transitions(Generic[S]):
    """A state machine as a table: ``moves[state]`` are the states it may go to."""

    def __init__(self, what: str, moves: Mapping[S, frozenset[S]]) -> None:
        self.what = what
        self.moves = dict(moves)

    def allows(self, current: S, new: S) -> bool:
        return new in self.moves.get(current, frozenset())

    def check(self, current: S, new: S) -> S:
        """``new`` if ``current`` may move to it; otherwise an internal error."""
        if not self.allows(current, new):
            allowed = ", ".join(sorted(str(s) for s in self.moves.get(current, ()))) or "none"
            raise IllegalTransition(
                f"A {self.what} cannot go from {current} to {new}",
                fix="This is a bug in uccerts; report it with the steps that led here",
                detail=f"from {current} the {self.what} may go to: {allowed}")
        return new


_R, _T, _V = RunbookState, StepState, ServiceState

RUNBOOK = Transitions("runbook", {
    _R.PLANNED: frozenset({_R.RUNNING}),
    # RUNNING -> RUNNING: resumed after the process running it was killed.
    _R.RUNNING: frozenset({_R.RUNNING, _R.WAITING, _R.DONE, _R.FAILED}),
    _R.WAITING: frozenset({_R.RUNNING}),  # resumed
    _R.FAILED: frozenset({_R.RUNNING}),  # resumed after the cause was fixed
    _R.DONE: frozenset(),
})

STEP = Transitions("runbook step", {
    _T.PENDING: frozenset({_T.RUNNING}),
    # RUNNING -> PENDING: the runbook waits (the step runs again on resume);
    # RUNNING -> RUNNING: run again after the process running it was killed.
    _T.RUNNING: frozenset({_T.RUNNING, _T.PENDING, _T.DONE, _T.FAILED}),
    _T.FAILED: frozenset({_T.RUNNING}),
    _T.DONE: frozenset(),  # a done step never runs again
})

SERVICE = Transitions("service", {
    _V.NOT_ACTIVATED: frozenset({_V.STOPPED}),  # activated
    # STOPPED -> STOPPING: a restart of a stopped service goes through its stop too.
    _V.STOPPED: frozenset({_V.STARTING, _V.STOPPING, _V.NOT_ACTIVATED}),
    _V.STARTING: frozenset({_V.STARTED, _V.STOPPED}),  # STOPPED: it failed to start
    _V.STARTED: frozenset({_V.STOPPING}),
    _V.STOPPING: frozenset({_V.STOPPED}),
})
