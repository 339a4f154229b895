"""The services of domain.md §8 as catalogue data: kinds, boot order, restart rules,
and the runtime's behaviour table keyed by kind."""

from __future__ import annotations

import pytest

from uccerts.domain.purposes import (
    RESTART_RULES,
    SERVICES,
    ServiceKind,
    name_of,
    purpose,
    restart_rule,
    service,
    service_of,
)
from uccerts.runtime.behaviours import BEHAVIOURS


def test_one_service_per_kind_found_by_kind_name_and_key() -> None:
    assert sorted(s.kind for s in SERVICES) == sorted(ServiceKind)
    for kind in ServiceKind:
        svc = service_of(kind)
        assert svc.kind is kind and name_of(kind) == svc.name
        assert service(svc.name) is svc and service(kind) is svc
        assert service(svc.name.upper()) is svc and svc.key == kind.value
    assert name_of(ServiceKind.TVS) == "Cisco Trust Verification Service"
    assert service("  cisco   TFTP ").kind is ServiceKind.TFTP


def test_boot_order_brings_up_what_phones_need_first() -> None:
    booted = [s.name for s in sorted(SERVICES, key=lambda s: s.boot_rank)]
    assert booted == ["Cisco Trust Verification Service", "Cisco TFTP", "Cisco CallManager",
                      "Cisco CTIManager", "Cisco Certificate Authority Proxy Function",
                      "Cisco Tomcat", "Cisco DRF Master", "Cisco DRF Local",
                      "Cisco XCP Router"]
    assert len({s.boot_rank for s in SERVICES}) == len(SERVICES)


def test_only_tftp_serves_without_tls() -> None:
    assert [s.name for s in SERVICES if not s.tls] == ["Cisco TFTP"]


@pytest.mark.parametrize(("name", "restarts", "ctl", "phones"), [
    ("tomcat", ["Cisco Tomcat"], False, False),
    ("tomcat-ECDSA", ["Cisco Tomcat"], False, False),
    ("CallManager", ["Cisco Trust Verification Service", "Cisco TFTP", "Cisco CallManager",
                     "Cisco CTIManager"], True, True),
    ("CallManager-ECDSA", ["Cisco Trust Verification Service", "Cisco TFTP",
                           "Cisco CallManager", "Cisco CTIManager"], True, True),
    ("ipsec", ["Cisco DRF Master", "Cisco DRF Local"], False, False),
    ("CAPF", ["Cisco Trust Verification Service", "Cisco TFTP",
              "Cisco Certificate Authority Proxy Function"], True, True),
    ("TVS", ["Cisco TFTP", "Cisco Trust Verification Service"], False, True),
    ("cup-xmpp", ["Cisco XCP Router"], False, False),
    ("cup-xmpp-s2s-ECDSA", ["Cisco XCP Router"], False, False),
    ("ITLRecovery", [], False, False),
    ("cup", [], False, False),
])
def test_restart_rules_per_purpose_as_domain_md_lists_them(
        name: str, restarts: list[str], ctl: bool, phones: bool) -> None:
    rule = restart_rule(purpose(name))
    assert [name_of(k) for k in rule.services] == restarts
    assert (rule.ctl_update_first, rule.reset_phones) == (ctl, phones)


def test_restart_rules_name_only_families() -> None:
    assert all(purpose(family).family == family for family in RESTART_RULES)


def test_the_runtime_knows_how_every_kind_behaves() -> None:
    assert set(BEHAVIOURS) == set(ServiceKind)
