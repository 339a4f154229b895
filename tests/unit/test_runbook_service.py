"""The runbook service driven through whole runs against the in-memory cluster
(``tests/fakes.py``): the store in memory, the lab CA, no serve, no sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clusters import TOPOLOGY, KeyPool, now
from fakes import FakeCluster
from uccerts.bootstrap import Services, build_from_uow, build_runbooks
from uccerts.config import Settings
from uccerts.domain.control import Who
from uccerts.domain.model import Distribution, Runbook, RunbookStep
from uccerts.domain.purposes import purpose
from uccerts.domain.runbook import Action, CaKind, Override, Request
from uccerts.domain.runbook_options import (
    AcmeSettings,
    RunbookOptions,
    options_from_json,
    options_to_json,
)
from uccerts.errors import ControlTimeout, Refused, SystemFailure
from uccerts.services.ca import LabCaService
from uccerts.services.context import resolve_cluster
from uccerts.services.control import Blocking
from uccerts.services.runbook import RunbookService
from uccerts.services.serve_store import StoreHooks
from uccerts.storage.memory import MemoryStore

TOMCAT, CALLMANAGER, TVS = "Cisco Tomcat", "Cisco CallManager", "Cisco Trust Verification Service"


class Killed(BaseException):
    """The process dying between two steps (not an error the runbook can record)."""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("runbook-service") / "home",
                        db_url="sqlite://")
    LabCaService(settings, now).init()
    return settings


@pytest.fixture
def services() -> Services:
    services = build_from_uow(MemoryStore().uow, actor="tester", source="test",
                              keygen=KeyPool())
    services.clusters.init(TOPOLOGY)
    return services


@pytest.fixture
def cluster(services: Services) -> FakeCluster:
    with services.ctx.read() as uow:
        name = resolve_cluster(uow, None).name
        nodes = {n.hostname: tuple(n.services) for n in uow.clusters.nodes(name)}
    return FakeCluster(nodes, StoreHooks(services.ctx, name).installed, phones_per_node=3)


@pytest.fixture
def runbooks(settings: Settings, services: Services, cluster: FakeCluster
             ) -> Iterator[RunbookService]:
    yield build_runbooks(settings, services, Blocking(cluster, Who("tester", "test")))


def identity(services: Services, node: str, name: str) -> str:
    return services.certificates.show(node, name).sha256


def steps_of(runbook: Runbook, action: Action) -> list[RunbookStep]:
    return [s for s in runbook.steps if s.action == action.value]


def test_every_step_action_has_a_handler(runbooks: RunbookService) -> None:
    assert set(runbooks._steps) == set(Action)


def test_a_whole_tomcat_run_restarts_each_tomcat_once_with_the_new_certificate(
        runbooks: RunbookService, services: Services, cluster: FakeCluster) -> None:
    before = {n: identity(services, n, "tomcat") for n in cluster.nodes}
    done = runbooks.start(Request(purpose("tomcat")), RunbookOptions())
    assert done.state == "done", done.message
    assert all(s.state == "done" for s in done.steps)
    restarted = {node for (node, name) in cluster.restarts if name == TOMCAT}
    assert restarted == {s.node for s in steps_of(done, Action.RESTART)}
    assert set(cluster.restarts.values()) == {1}
    for node in restarted:
        served = cluster.served(node, TOMCAT)
        assert served == identity(services, node, "tomcat") != before[node]
        verify = next(s for s in steps_of(done, Action.VERIFY_SERVED) if s.node == node)
        assert verify.output == f"serves {served}"
    assert cluster.resets == 0
    # Every call to the cluster named who acted.
    assert {who for _, who in cluster.calls} == {Who("tester", "test")}


def test_a_whole_callmanager_run_restarts_resets_once_and_waits_for_every_phone(
        runbooks: RunbookService, services: Services, cluster: FakeCluster) -> None:
    done = runbooks.start(Request(purpose("CallManager")), RunbookOptions())
    assert done.state == "done", done.message
    assert done.options.phones_before == 9
    assert {name for (_, name) in cluster.restarts} >= {CALLMANAGER}
    assert set(cluster.restarts.values()) == {1}
    assert cluster.resets == len(steps_of(done, Action.RESET_PHONES)) == 1
    wait = steps_of(done, Action.WAIT_REGISTRATION)[0]
    assert wait.output == "9 of 9 phones registered"
    for node, name in cluster.restarts:
        if name == CALLMANAGER:
            leaf = services.certificates.show(node, "CallManager")
            assert cluster.served(node, name) == leaf.sha256


def test_a_restart_that_times_out_fails_the_runbook_which_resumes(
        runbooks: RunbookService, services: Services, cluster: FakeCluster) -> None:
    cluster.restart_timeouts = 1
    with pytest.raises(ControlTimeout):
        runbooks.start(Request(purpose("tomcat")), RunbookOptions())
    failed = runbooks.list()[0]
    assert failed.state == "failed"
    step = next(s for s in failed.steps if s.state == "failed")
    assert step.action == Action.RESTART.value
    assert "did not finish restarting" in failed.message and f"step {step.n}" in failed.message
    assert "did not finish restarting" in step.output
    assert not cluster.restarts  # the timed-out restart changed nothing
    resumed = runbooks.execute(failed.id or 0)
    assert resumed.state == "done"
    assert set(cluster.restarts.values()) == {1}


def test_phones_that_do_not_come_back_fail_the_wait_with_their_reason(
        runbooks: RunbookService, cluster: FakeCluster) -> None:
    cluster.lost_phones = 2
    with pytest.raises(Refused) as err:
        runbooks.start(Request(purpose("CallManager")), RunbookOptions())
    assert err.value.code == "phones-not-registered"
    assert "Only 7 of 9 phones re-registered" in err.value.message
    assert cluster.lost_reason in err.value.message
    failed = runbooks.list()[0]
    assert failed.state == "failed"
    assert steps_of(failed, Action.WAIT_REGISTRATION)[0].state == "failed"
    assert cluster.lost_reason in failed.message


@pytest.mark.parametrize("kill_after", [Action.RESTART, Action.RESET_PHONES])
def test_resume_after_a_kill_never_repeats_a_done_step(
        runbooks: RunbookService, cluster: FakeCluster, kill_after: Action) -> None:
    """Issue 10 item 16: killed right after a step that acts on the cluster is done,
    the resumed runbook keeps every done step as it was and acts once, not twice."""

    def kill(step: RunbookStep) -> None:
        if step.state == "done" and step.action == kill_after.value:
            raise Killed

    with pytest.raises(Killed):
        runbooks.start(Request(purpose("CallManager")), RunbookOptions(), on_step=kill)
    killed = runbooks.list()[0]
    done_before = [s for s in killed.steps if s.state == "done"]
    assert done_before and done_before[-1].action == kill_after.value
    assert killed.state == "running"  # a kill records nothing more
    restarts, resets = sum(cluster.restarts.values()), cluster.resets
    assert restarts + resets >= 1

    resumed = runbooks.execute(killed.id or 0)
    assert resumed.state == "done"
    after = {s.n: s for s in resumed.steps}
    for step in done_before:
        kept = after[step.n]
        assert (kept.state, kept.started, kept.finished, kept.output) == (
            "done", step.started, step.finished, step.output)
    assert set(cluster.restarts.values()) == {1}
    assert sum(cluster.restarts.values()) == len(steps_of(resumed, Action.RESTART))
    assert cluster.resets == 1


def test_the_fake_serves_what_the_store_held_at_its_last_restart(
        services: Services, cluster: FakeCluster) -> None:
    old = cluster.served("cucm-pub", TOMCAT)
    assert old == identity(services, "cucm-pub", "tomcat")
    services.certificates.regenerate("cucm-pub", "tomcat")
    assert cluster.served("cucm-pub", TOMCAT) == old


def test_options_read_back_from_the_stored_json_unchanged() -> None:
    stored = {"nodes": ["cucm-pub"], "distribution": "multi-server", "ca": "acme",
              "overrides": ["--manage-sso"], "folder": "/srv/csr",
              "acme_directory": "https://acme.example/dir", "acme_ca_bundle": "",
              "acme_http_port": 8080, "acme_root_url": "https://acme.example/root.pem",
              "phones_before": 9, "web_start": "job-1"}
    options = options_from_json(stored)
    assert options == RunbookOptions(
        ("cucm-pub",), Distribution.MULTI_SERVER, CaKind.ACME,
        frozenset({Override.MANAGE_SSO}), "/srv/csr",
        AcmeSettings("https://acme.example/dir", None, 8080, "https://acme.example/root.pem"),
        9, "job-1")
    assert options_to_json(options) == stored
    # A runbook stored with only its plan (lab CA, no ACME, no phones) reads as such.
    assert options_from_json({"ca": "lab"}) == RunbookOptions()


def test_without_a_home_runbooks_plan_but_refuse_to_reach_a_ca(
        services: Services, cluster: FakeCluster) -> None:
    runbooks = build_runbooks(None, services, Blocking(cluster, Who("tester", "test")))
    assert runbooks.plan(Request(purpose("tomcat"))).steps
    with pytest.raises(SystemFailure) as err:
        runbooks.start(Request(purpose("tomcat")), RunbookOptions())
    assert err.value.code == "settings-missing"
    failed = runbooks.list()[0]
    assert failed.state == "failed"
    assert next(s for s in failed.steps if s.state == "failed").action == Action.ENROLL.value
