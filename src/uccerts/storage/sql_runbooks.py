"""The runbook repository over SQLAlchemy Core (see ``storage.sql_tx`` for the transaction).

A runbook is one ``runbooks`` row and its ``runbook_steps`` rows. Reads take two
statements whatever the number of runbooks (the runbooks, then all their steps in one
``IN``); ``add`` inserts the steps as one executemany. ``lock`` is ``SELECT … FOR
UPDATE`` on the runbook row on PostgreSQL; on SQLite every writing transaction
already holds the database's write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from uccerts.domain.model import Runbook, RunbookStep
from uccerts.domain.states import RunbookState, StepState
from uccerts.errors import NotFound, Refused
from uccerts.storage import tables as t

if TYPE_CHECKING:
    from uccerts.storage.sql_tx import Tx


def runbook_not_found(runbook_id: int) -> NotFound:
    return NotFound(f"Runbook {runbook_id} does not exist", code="runbook-not-found",
                    fix="List the runbooks to find its number")


def step_not_found(runbook_id: int, n: int) -> NotFound:
    return NotFound(f"Runbook {runbook_id} has no step {n}", code="runbook-step-not-found",
                    fix="Show the runbook to see its steps")


def step_given_twice(n: int) -> Refused:
    return Refused(f"Step {n} is given twice in the runbook", code="runbook-step-exists",
                   fix="Number the steps of a runbook uniquely")


def step_updated_at(started: dt.datetime | None, finished: dt.datetime | None,
                    at: dt.datetime | None) -> dt.datetime | None:
    """The runbook's ``updated`` after a step change (``RunbookRepo.set_step``); None:
    unchanged. The store reads no clock: the times come from the use case."""
    return finished or started or at


_SELECT = (select(t.runbooks, t.clusters.c.name.label("cluster"))
           .join(t.clusters, t.runbooks.c.cluster_id == t.clusters.c.id))


class SqlRunbookRepo:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, runbook: Runbook) -> int:
        seen: builtins.set[int] = set()
        for step in runbook.steps:
            if step.n in seen:
                raise step_given_twice(step.n)
            seen.add(step.n)
        cid = self._tx.cluster_id(runbook.cluster)
        with self._tx.savepoint():
            rid = int(self._tx.execute(t.runbooks.insert().values(
                **t.runbook_values(runbook, cid))).inserted_primary_key[0])  # type: ignore[index]
            if runbook.steps:
                self._tx.execute(t.runbook_steps.insert(),
                                 params=[t.runbook_step_values(s, rid) for s in runbook.steps])
        return rid

    def _with_steps(self, rows: Iterable[Any]) -> builtins.list[Runbook]:
        rows = list(rows)
        if not rows:
            return []
        steps: dict[int, builtins.list[RunbookStep]] = {r.id: [] for r in rows}
        for s in self._tx.execute(select(t.runbook_steps)
                                  .where(t.runbook_steps.c.runbook_id.in_(list(steps)))
                                  .order_by(t.runbook_steps.c.runbook_id,
                                            t.runbook_steps.c.n)):
            steps[s.runbook_id].append(t.runbook_step_from_row(s))
        return [t.runbook_from_row(r, tuple(steps[r.id])) for r in rows]

    def get(self, runbook_id: int) -> Runbook | None:
        found = self._with_steps(self._tx.execute(
            _SELECT.where(t.runbooks.c.id == runbook_id)))
        return found[0] if found else None

    def list(self, cluster: str | None = None, limit: int = 100) -> builtins.list[Runbook]:
        stmt = _SELECT.order_by(t.runbooks.c.created.desc(), t.runbooks.c.id.desc())
        if cluster is not None:
            stmt = stmt.where(t.clusters.c.name == cluster)
        return self._with_steps(self._tx.execute(stmt.limit(limit)))

    def unfinished(self, cluster: str) -> builtins.list[str]:
        stmt = (select(t.runbooks.c.purpose).join(t.clusters)
                .where(t.clusters.c.name == cluster, t.runbooks.c.state != str(RunbookState.DONE))
                .order_by(t.runbooks.c.id))
        return [str(p) for p in self._tx.execute(stmt).scalars()]

    def set_state(self, runbook_id: int, state: RunbookState, message: str = "", *,
                  at: dt.datetime) -> None:
        done = self._tx.execute(t.runbooks.update().where(t.runbooks.c.id == runbook_id)
                                .values(state=str(state), message=message, updated=at))
        if done.rowcount == 0:
            raise runbook_not_found(runbook_id)

    def set_step(self, runbook_id: int, n: int, *, state: StepState,
                 output: str | None = None, started: dt.datetime | None = None,
                 finished: dt.datetime | None = None, at: dt.datetime | None = None) -> None:
        values: dict[str, Any] = {"state": str(state)}
        for name, value in (("output", output), ("started", started),
                            ("finished", finished)):
            if value is not None:
                values[name] = value
        done = self._tx.execute(t.runbook_steps.update().where(
            t.runbook_steps.c.runbook_id == runbook_id, t.runbook_steps.c.n == n
        ).values(**values))
        if done.rowcount == 0:
            raise step_not_found(runbook_id, n)
        updated = step_updated_at(started, finished, at)
        if updated is not None:
            self._tx.execute(t.runbooks.update().where(t.runbooks.c.id == runbook_id)
                             .values(updated=updated))

    def lock(self, runbook_id: int) -> None:
        found = self._tx.execute(select(t.runbooks.c.id).where(t.runbooks.c.id == runbook_id)
                                 .with_for_update()).scalar()
        if found is None:
            raise runbook_not_found(runbook_id)
