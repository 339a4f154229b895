"""The one job runner of a node's app and the one self-cut rule (issue 9, item 5)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from uccerts.domain.control import ServiceAction
from uccerts.domain.purposes import service
from uccerts.errors import Refused
from uccerts.http.jobs import KEEP, Job, JobRunner, ServiceJob, cuts_own_connection, new_id

TOMCAT = service("Cisco Tomcat")
TFTP = service("Cisco TFTP")


@pytest.mark.parametrize(("node", "svc", "action", "cuts"), [
    ("cucm-pub", TOMCAT, ServiceAction.RESTART, True),
    ("CUCM-PUB.uc.example", TOMCAT, ServiceAction.STOP, True),
    ("cucm-pub", TOMCAT, ServiceAction.DEACTIVATE, True),
    ("cucm-pub", TOMCAT, ServiceAction.START, False),
    ("cucm-pub", TOMCAT, ServiceAction.ACTIVATE, False),
    ("cucm-sub1", TOMCAT, ServiceAction.RESTART, False),
    ("cucm-pub-2", TOMCAT, ServiceAction.RESTART, False),
    ("cucm-pub", TFTP, ServiceAction.RESTART, False),
])
def test_only_the_served_tomcat_stopping_cuts_its_own_connection(
        node: str, svc: object, action: ServiceAction, cuts: bool) -> None:
    assert cuts_own_connection("cucm-pub", node, svc, action) is cuts  # type: ignore[arg-type]


@dataclass
class OtherJob(Job):
    n: int = 0


def test_a_job_outlives_the_task_that_launched_it_and_records_its_end() -> None:
    async def scenario() -> tuple[ServiceJob, ServiceJob]:
        runner = JobRunner()
        ok = runner.add(ServiceJob(new_id(), "alice", node="cucm-pub",
                                   service="Cisco Tomcat", action="restart"))
        bad = runner.add(ServiceJob(new_id(), "alice"))

        async def work() -> None:
            await asyncio.sleep(0.01)
            ok.events.append("Cisco Tomcat[STARTED]")

        async def refused() -> None:
            raise Refused("no", code="nope", fix="do not")

        async def request() -> None:  # the request ends before the work does
            runner.launch(ok, work)
            runner.launch(bad, refused)

        await asyncio.wait_for(request(), 1)
        assert not ok.done
        await runner.wait()
        return ok, bad

    ok, bad = asyncio.run(scenario())
    assert ok.done and ok.error is None and ok.events == ["Cisco Tomcat[STARTED]"]
    assert ok.to_dict()["title"] == "Restart Cisco Tomcat on cucm-pub"
    assert bad.done and bad.error == {"code": "nope", "message": "no", "fix": "do not"}


def test_jobs_are_found_by_kind_and_owner_and_old_ones_pruned_per_kind() -> None:
    runner = JobRunner()
    mine = runner.add(ServiceJob(new_id(), "alice"))
    other = runner.add(OtherJob(new_id(), "alice"))
    assert runner.get(ServiceJob, mine.id, "alice") is mine
    assert runner.get(ServiceJob, mine.id, "bob") is None
    assert runner.get(ServiceJob, other.id, "alice") is None
    assert runner.of(OtherJob) == [other]
    other.done = True
    for _ in range(KEEP + 5):
        runner.add(ServiceJob(new_id(), "alice", done=True))
    runner.add(ServiceJob(new_id(), "alice"))
    assert len([j for j in runner.of(ServiceJob) if j.done]) <= KEEP + 1
    assert runner.of(OtherJob) == [other]  # another kind's finished job is kept
