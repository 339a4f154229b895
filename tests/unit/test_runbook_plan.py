"""The regeneration plan of domain.md §10 for the demo cluster, and its guards."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clusters import TOPOLOGY
from uccerts.domain.model import Distribution
from uccerts.domain.purposes import purpose
from uccerts.domain.runbook import (
    Action,
    CaKind,
    Override,
    Request,
    Situation,
    plan_runbook,
)
from uccerts.domain.topology import parse_topology
from uccerts.errors import UsageError

TOPO = parse_topology(TOPOLOGY)
CLUSTER, NODES = TOPO.cluster, list(TOPO.nodes)


def plan(name: str, situation: Situation | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return plan_runbook(CLUSTER, NODES, Request(purpose(name), **kw),  # type: ignore[arg-type]
                        situation or Situation())


def actions(p, action: Action) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(s.node, s.service or s.detail) for s in p.steps if s.action is action]


def test_tomcat_this_server_on_every_node_restarts_publisher_first() -> None:
    p = plan("tomcat")
    assert p.nodes == ("cucm-pub", "cucm-sub1", "imp-pub") and not p.guards
    kinds = [s.action for s in p.steps]
    assert kinds.index(Action.GENERATE_CSR) < kinds.index(Action.ENROLL) < \
        kinds.index(Action.UPLOAD_TRUST) < kinds.index(Action.UPLOAD_IDENTITY) < \
        kinds.index(Action.RESTART) < kinds.index(Action.VERIFY_SERVED)
    assert actions(p, Action.RESTART) == [("cucm-pub", "Cisco Tomcat"),
                                         ("cucm-sub1", "Cisco Tomcat"),
                                         ("imp-pub", "Cisco Tomcat")]
    assert [s.n for s in p.steps] == list(range(1, len(p.steps) + 1))
    assert Action.RESET_PHONES not in kinds  # tomcat does not touch the phones


def test_multi_server_has_one_csr_on_the_publisher_installed_everywhere() -> None:
    p = plan("tomcat", distribution=Distribution.MULTI_SERVER)
    assert actions(p, Action.GENERATE_CSR) == [("cucm-pub", p.steps[3].detail)]
    assert p.csr_nodes == ("cucm-pub",)
    upload = next(s for s in p.steps if s.action is Action.UPLOAD_IDENTITY)
    assert "cucm-pub, cucm-sub1, imp-pub" in upload.detail
    assert len(actions(p, Action.RESTART)) == 3


def test_callmanager_restarts_in_the_seed_order_then_resets_phones() -> None:
    p = plan("CallManager")
    assert p.nodes == ("cucm-pub", "cucm-sub1")  # not on IM and Presence
    assert [svc for _, svc in actions(p, Action.RESTART)] == [
        "Cisco Trust Verification Service", "Cisco TFTP", "Cisco CallManager",
        "Cisco CTIManager"] * 2
    kinds = [s.action for s in p.steps]
    assert kinds.index(Action.RESET_PHONES) < kinds.index(Action.WAIT_REGISTRATION)
    assert Action.CTL_UPDATE not in kinds
    mixed = plan_runbook(replace(CLUSTER, security_mode=1), NODES,
                         Request(purpose("CallManager")), Situation())
    kinds = [s.action for s in mixed.steps]
    assert kinds.index(Action.CTL_UPDATE) < kinds.index(Action.RESTART)


def test_sso_guard_and_manage_sso_wraps_the_run() -> None:
    sso = Situation(sso_enabled=True)
    refused = plan("tomcat", sso)
    assert [g.code for g in refused.guards] == ["sso-enabled"]
    assert refused.guards[0].override == "--manage-sso"
    managed = plan("tomcat", sso, overrides=frozenset({Override.MANAGE_SSO}))
    assert not managed.guards
    assert managed.steps[0].action is Action.CHECK_EXPIRY
    kinds = [s.action for s in managed.steps]
    assert kinds.index(Action.DISABLE_SSO) < kinds.index(Action.GENERATE_CSR)
    assert kinds[-1] is Action.ENABLE_SSO


@pytest.mark.parametrize(("name", "in_flight", "settled", "code"), [
    ("TVS", ("CallManager",), True, "callmanager-tvs-together"),
    ("CallManager", ("TVS",), True, "callmanager-tvs-together"),
    ("CallManager", (), False, "phones-not-registered"),
    ("ITLRecovery", ("CallManager",), True, "callmanager-tvs-together"),
])
def test_itl_pair_guard(name: str, in_flight: tuple[str, ...], settled: bool,
                        code: str) -> None:
    situation = Situation(in_flight=in_flight, phones_settled=settled)
    p = plan(name, situation)
    assert [g.code for g in p.guards] == [code] and p.refused
    lifted = plan(name, situation, overrides=frozenset({Override.ITL_RISK}))
    assert not lifted.guards


def test_tomcat_is_not_held_back_by_a_callmanager_change() -> None:
    assert not plan("tomcat", Situation(in_flight=("CallManager",),
                                        phones_settled=False)).guards


def test_ipsec_during_a_backup_and_capf_off_the_publisher() -> None:
    backup = Situation(backup_running=True)
    assert [g.code for g in plan("ipsec", backup).guards] == ["backup-running"]
    assert not plan("ipsec", backup, overrides=frozenset({Override.BACKUP})).guards
    capf = plan("CAPF", nodes=("cucm-pub", "cucm-sub1"))
    assert [g.code for g in capf.guards] == ["capf-not-publisher"]
    lifted = plan("CAPF", nodes=("cucm-pub", "cucm-sub1"),
                  overrides=frozenset({Override.CAPF_NODE}))
    assert not lifted.guards and lifted.nodes == ("cucm-pub",)


def test_bad_requests_are_usage_errors() -> None:
    with pytest.raises(UsageError) as unknown:
        plan("tomcat", nodes=("nowhere",))
    assert unknown.value.code == "unknown-node"
    with pytest.raises(UsageError) as wrong:
        plan("CallManager", nodes=("imp-pub",))
    assert wrong.value.code == "purpose-not-on-node"
    assert plan("tomcat", ca=CaKind.MANUAL).ca is CaKind.MANUAL
