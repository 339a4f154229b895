"""SecurityService on the in-memory store: security mode, the CTL, SAML SSO."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from clusters import TOPOLOGY, KeyPool
from uccerts.bootstrap import Services, build_from_uow
from uccerts.domain.signedfile import cert_sha256
from uccerts.domain.trustlist import TrustList, TrustRole, read_trust_list
from uccerts.errors import Refused, UsageError
from uccerts.services.restarts import RestartNeeded
from uccerts.services.security import SecurityService
from uccerts.storage.memory import MemoryStore

PUB, SUB, IMP = "cucm-pub", "cucm-sub1", "imp-pub"


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def svc(store: MemoryStore) -> Services:
    services = build_from_uow(store.uow, actor="tester", source="test", keygen=KeyPool())
    services.clusters.init(TOPOLOGY)
    return services


def cert(store: MemoryStore, node: str, purpose: str) -> str:
    with store.uow() as uow:
        ident = uow.identities.get("lab", node, purpose, with_key=False)
        assert ident is not None
        return cert_sha256(ident.certificate)


def stored_ctl(store: MemoryStore) -> TrustList:
    with store.uow() as uow:
        cluster = uow.clusters.get("lab")
        assert cluster is not None and cluster.ctl_sha256
        content = uow.phones.file(cluster.ctl_sha256)
    assert content is not None
    ctl = read_trust_list(content, "CTL")  # verifies the signature
    assert ctl.sha256 == cluster.ctl_sha256
    return ctl


def cluster_row(store: MemoryStore) -> tuple[int, bool, str | None]:
    with store.uow() as uow:
        c = uow.clusters.get("lab")
        assert c is not None
        return c.security_mode, c.sso_enabled, c.ctl_sha256


def audit(store: MemoryStore) -> list[tuple[str, str, str]]:
    with store.uow() as uow:
        return [(e.action, e.outcome, e.detail) for e in reversed(uow.audit.list("lab"))
                if e.action != "cluster init"]


def test_mixed_mode_builds_a_ctl_signed_by_itlrecovery(svc: Services, store: MemoryStore
                                                       ) -> None:
    result = svc.security.set_mode("mixed")
    assert (result.cluster, result.mode, result.security_mode, result.changed) == (
        "lab", "mixed", 1, True)
    ctl = stored_ctl(store)
    assert result.ctl_sha256 == ctl.sha256
    assert ctl.signer_sha256 == cert(store, PUB, "ITLRecovery")
    expected = {(TrustRole.CCM_TFTP.value, PUB, cert(store, PUB, "CallManager")),
                (TrustRole.CCM_TFTP.value, SUB, cert(store, SUB, "CallManager")),
                (TrustRole.CAPF.value, PUB, cert(store, PUB, "CAPF")),
                (TrustRole.SAST.value, PUB, cert(store, PUB, "ITLRecovery"))}
    assert {(r.role.value, r.node, r.sha256) for r in ctl.records} == expected
    assert {(r.role, r.node, r.sha256) for r in result.records} == expected
    assert len(ctl.records) == 4  # no IM and Presence node, no TVS
    assert cluster_row(store) == (1, False, ctl.sha256)


def test_next_steps_restart_tftp_first_then_callmanager_then_reset(svc: Services) -> None:
    result = svc.security.set_mode("Mixed")
    assert result.next_steps.restarts == (
        RestartNeeded(PUB, "Cisco TFTP"), RestartNeeded(SUB, "Cisco TFTP"),
        RestartNeeded(PUB, "Cisco CallManager"), RestartNeeded(SUB, "Cisco CallManager"))
    assert result.next_steps.reset_phones
    doc = result.to_dict()
    assert doc["next_steps"]["restart"][0] == {"node": PUB, "service": "Cisco TFTP"}
    assert doc["records"][0].keys() == {"role", "node", "sha256"}


def test_setting_the_same_mode_is_a_no_op_that_says_so(svc: Services, store: MemoryStore
                                                       ) -> None:
    first = svc.security.set_mode("mixed")
    again = svc.security.set_mode("mixed")
    assert not again.changed and "already" in again.note
    assert again.ctl_sha256 == first.ctl_sha256 and again.records == first.records
    assert again.next_steps.restarts == () and not again.next_steps.reset_phones
    still = svc.security.set_mode("non-secure")
    assert still.changed
    idle = svc.security.set_mode("non-secure")
    assert not idle.changed and idle.ctl_sha256 is None
    assert [a[:2] for a in audit(store)] == [("security-mode", "ok")] * 4
    assert "already" in audit(store)[1][2]


def test_non_secure_drops_the_ctl(svc: Services, store: MemoryStore) -> None:
    svc.security.set_mode("mixed")
    result = svc.security.set_mode("non-secure")
    assert (result.mode, result.security_mode, result.ctl_sha256, result.records) == (
        "non-secure", 0, None, ())
    assert result.next_steps.reset_phones
    assert cluster_row(store) == (0, False, None)


def test_ctl_update_lists_a_regenerated_callmanager(svc: Services, store: MemoryStore
                                                    ) -> None:
    before = svc.security.set_mode("mixed")
    old = cert(store, SUB, "CallManager")
    svc.certificates.regenerate(SUB, "CallManager")
    new = cert(store, SUB, "CallManager")
    assert new != old
    assert stored_ctl(store).sha256 == before.ctl_sha256  # nothing moves until the update
    result = svc.security.update_ctl()
    ctl = stored_ctl(store)
    assert result.ctl_sha256 == ctl.sha256 != before.ctl_sha256
    assert ctl.has(new, [TrustRole.CCM_TFTP]) and not ctl.has(old)
    assert (TrustRole.CCM_TFTP.value, SUB, new) in {(r.role, r.node, r.sha256)
                                                      for r in result.records}
    assert result.next_steps.restarts[0] == RestartNeeded(PUB, "Cisco TFTP")
    assert audit(store)[-1][:2] == ("ctl update", "ok")


def test_ctl_update_in_non_secure_mode_is_refused_and_changes_nothing(
        svc: Services, store: MemoryStore) -> None:
    before = cluster_row(store)
    with pytest.raises(Refused) as err:
        svc.security.update_ctl()
    assert err.value.code == "ctl-non-secure"
    assert err.value.fix == "Set the cluster's security mode to mixed first"
    assert cluster_row(store) == before
    assert audit(store) == [("ctl update", "refused",
                             "cluster security mode is 0 (non-secure)")]


def test_unknown_mode_is_a_usage_error(svc: Services, store: MemoryStore) -> None:
    with pytest.raises(UsageError) as err:
        svc.security.set_mode("secure")
    assert err.value.exit_code == 2 and "mixed, non-secure" in (err.value.fix or "")
    assert audit(store) == []


def test_sso_enable_disable(svc: Services, store: MemoryStore) -> None:
    on = svc.security.set_sso(True)
    assert (on.cluster, on.sso_enabled, on.changed) == ("lab", True, True)
    assert cluster_row(store)[1] is True
    assert not svc.security.set_sso(True).changed
    off = svc.security.set_sso(False)
    assert off.changed and cluster_row(store)[1] is False
    assert [a[:2] for a in audit(store)] == [("sso", "ok")] * 3


def test_the_ctl_is_issued_at_the_context_clock(svc: Services, store: MemoryStore) -> None:
    at = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    SecurityService(replace(svc.ctx, clock=lambda: at)).set_mode("mixed")
    assert b'"issued":"2026-06-01T12:00:00Z"' in stored_ctl(store).raw


def test_sso_keeps_the_security_mode_and_ctl(svc: Services, store: MemoryStore) -> None:
    mixed = svc.security.set_mode("mixed")
    svc.security.set_sso(True)
    assert cluster_row(store) == (1, True, mixed.ctl_sha256)


def set_services(store: MemoryStore, node: str, drop: set[str]) -> None:
    with store.uow() as uow:
        current = uow.clusters.node("lab", node)
        assert current is not None
        uow.clusters.update_node("lab", replace(
            current, services=tuple(s for s in current.services if s not in drop)))
        uow.commit()


def test_ctl_lists_callmanager_nodes_without_tftp_and_skips_the_rest(
        svc: Services, store: MemoryStore) -> None:
    # A phone in mixed mode checks its CallManager's TLS certificate in the CTL, so a
    # CallManager node without TFTP is listed too; a node running neither is not.
    set_services(store, SUB, {"Cisco TFTP"})
    svc.security.set_mode("mixed")
    assert stored_ctl(store).has(cert(store, SUB, "CallManager"), [TrustRole.CCM_TFTP])
    set_services(store, SUB, {"Cisco CallManager"})
    result = svc.security.update_ctl()
    assert SUB not in {r.node for r in result.records}
    assert RestartNeeded(SUB, "Cisco TFTP") not in result.next_steps.restarts
    assert IMP not in {r.node for r in result.records}


def test_a_cluster_created_in_mixed_mode_has_its_ctl_at_once(store: MemoryStore) -> None:
    services = build_from_uow(store.uow, actor="tester", source="test", keygen=KeyPool())
    services.clusters.init(TOPOLOGY.replace("security_mode = 0", "security_mode = 1"))
    assert cluster_row(store)[0] == 1
    ctl = stored_ctl(store)
    assert ctl.signer_sha256 == cert(store, "cucm-pub", "ITLRecovery")
    assert ctl.has(cert(store, "cucm-sub1", "CallManager"), {TrustRole.CCM_TFTP})
