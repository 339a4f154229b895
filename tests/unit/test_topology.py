"""Topology files: what a valid one yields, and what a broken one is told (cli.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uccerts.domain.model import Node
from uccerts.domain.purposes import Role, purpose, purposes_for
from uccerts.domain.restart_plan import order_nodes, plan_restarts
from uccerts.domain.topology import parse_topology
from uccerts.errors import InvalidInput, NotFound, UccertsError

GOOD = """
[cluster]
name = "lab"
domain = "UC.example"
security_mode = 1

[web_security]
orgunit = "Collaboration"
orgname = "Example"
locality = "CUCM"
state = "CDMX"
country = "MX"

[[nodes]]
name = "cucm-sub1"
role = "subscriber"
address = "127.0.1.2"

[[nodes]]
name = "cucm-pub"
role = "publisher"
address = "127.0.1.1"
ports = { tomcat = 9443 }

[[nodes]]
name = "imp-pub"
role = "imp"
address = "127.0.1.3"
services = ["cisco tomcat", "Cisco XCP Router"]

[phones]
count = 20
"""


def test_a_valid_topology() -> None:
    topo = parse_topology(GOOD)
    assert topo.cluster.name == "lab"
    assert topo.cluster.domain == "uc.example"
    assert topo.cluster.security_mode == 1
    assert topo.cluster.phone_count == 20
    sub, pub, imp = topo.nodes
    assert pub.role is Role.PUBLISHER and pub.fqdn == "cucm-pub.uc.example"
    assert dict(pub.ports) == {"tomcat": 9443}
    assert "Cisco Certificate Authority Proxy Function" in pub.services
    assert "Cisco CallManager" in sub.services and "Cisco DRF Master" not in sub.services
    assert imp.services == ("Cisco Tomcat", "Cisco XCP Router")
    assert imp.web_security.country == "MX"


@pytest.mark.parametrize(("edit", "words"), [
    (lambda t: t.replace('role = "publisher"', 'role = "subscriber"'), "0 publishers"),
    (lambda t: t.replace('"127.0.1.3"', '"127.0.1.2"'), "duplicate addresses"),
    (lambda t: t.replace('"cucm-sub1"', '"cucm-pub"'), "duplicate node names"),
    (lambda t: t.replace('role = "imp"', 'role = "presence"'), "role 'presence'"),
    (lambda t: t.replace('"127.0.1.1"', '"localhost"'), "not an IP address"),
    (lambda t: t.replace('country = "MX"', 'country = "Mexico"'), "two-letter"),
    (lambda t: t.replace("security_mode = 1", "security_mode = 3"), "security_mode"),
    (lambda t: t.replace("count = 20", "count = -1"), "count"),
    (lambda t: t.replace("tomcat = 9443", "tomcat = 70000"), "out of range"),
    (lambda t: t.replace("[cluster]", "[clusterx]"), "[cluster]"),
    (lambda t: t + "\n[[nodes]\n", "not valid TOML"),
])
def test_broken_topologies_say_what_is_wrong(edit: object, words: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_topology(edit(GOOD))  # type: ignore[operator]
    assert err.value.code == "invalid-topology"
    assert words in err.value.message
    assert err.value.fix


def test_unknown_service_is_named() -> None:
    with pytest.raises(NotFound) as err:
        parse_topology(GOOD.replace('"Cisco XCP Router"', '"Cisco Nothing"'))
    assert "Cisco Nothing" in err.value.message


def test_purposes_per_role() -> None:
    names = {r: {p.name for p in purposes_for(r)} for r in Role}
    assert "CAPF" in names[Role.PUBLISHER] and "CAPF" not in names[Role.SUBSCRIBER]
    assert "ITLRecovery" in names[Role.PUBLISHER]
    assert "cup-xmpp" in names[Role.IMP] and "CallManager" not in names[Role.IMP]
    assert {"tomcat", "tomcat-ECDSA", "ipsec"} <= names[Role.SUBSCRIBER]


def test_restart_plan_orders_publisher_first_and_skips_inactive_services() -> None:
    topo = parse_topology(GOOD)
    nodes: list[Node] = list(topo.nodes)
    assert [n.hostname for n in order_nodes(nodes)] == ["cucm-pub", "cucm-sub1", "imp-pub"]
    tomcat = plan_restarts(topo.cluster, purpose("tomcat"), nodes)
    assert [(r.node, r.service) for r in tomcat.restarts] == [
        ("cucm-pub", "Cisco Tomcat"), ("cucm-sub1", "Cisco Tomcat"), ("imp-pub", "Cisco Tomcat")]
    assert not tomcat.reset_phones and not tomcat.ctl_update_first
    cm = plan_restarts(topo.cluster, purpose("CallManager"), nodes[:2])
    assert [r.service for r in cm.restarts[:4]] == [
        "Cisco Trust Verification Service", "Cisco TFTP", "Cisco CallManager",
        "Cisco CTIManager"]
    assert cm.reset_phones and cm.ctl_update_first  # mixed mode
    ipsec = plan_restarts(topo.cluster, purpose("ipsec"), nodes)
    assert ("cucm-pub", "Cisco DRF Master") in [(r.node, r.service) for r in ipsec.restarts]
    assert ("cucm-sub1", "Cisco DRF Master") not in [(r.node, r.service) for r in ipsec.restarts]
    tvs = plan_restarts(topo.cluster, purpose("TVS"), nodes[:1])
    assert [r.service for r in tvs.restarts] == ["Cisco TFTP", "Cisco Trust Verification Service"]
    assert not tvs.ctl_update_first


def test_lookups_are_case_insensitive_and_unknown_names_are_usage_errors() -> None:
    assert purpose("CALLMANAGER").name == "CallManager"
    with pytest.raises(NotFound) as err:
        purpose("tomcatt")
    assert err.value.exit_code == 2 and "tomcat" in (err.value.fix or "")


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.text(max_size=400),
    st.builds(lambda i, junk: GOOD[:i] + junk + GOOD[i:], st.integers(0, len(GOOD)),
              st.text(max_size=20)),
))
def test_any_text_gives_a_topology_or_a_clear_error(text: str) -> None:
    try:
        parse_topology(text)
    except UccertsError as err:
        assert err.message and err.exit_code in (1, 2)


@pytest.mark.parametrize("alternate", ["bad name", "*.uc.example", "héllo.uc.example"])
def test_alternate_host_names_in_a_topology_are_checked(alternate: str) -> None:
    text = GOOD.replace('country = "MX"', f'country = "MX"\nalternate_hostnames = ["{alternate}"]')
    with pytest.raises(InvalidInput) as err:
        parse_topology(text)
    assert err.value.code == "invalid-topology"


def test_alternate_host_names_may_be_comma_separated_names_and_ips() -> None:
    text = GOOD.replace('country = "MX"',
                        'country = "MX"\nalternate_hostnames = ["a.uc.example, 10.0.0.1"]')
    sub = parse_topology(text).nodes[0]
    assert sub.web_security.alternate_hostnames == ("a.uc.example", "10.0.0.1")
