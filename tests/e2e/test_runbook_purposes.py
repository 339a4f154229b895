"""Each purpose's runbook end to end through the real CLI against a live ``serve``
(domain.md §8–§10): planned, run with the lab CA, every restarted listener serving
its new certificate, phones back where the purpose touches them; each guard refusing
and its override lifting it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from live import LiveCluster

PUB, SUB, IMP = "cucm-pub", "cucm-sub1", "imp-pub"
PHONES = 20
# The TLS ports whose served certificate is the purpose's own (domain.md §8).
TLS_PORTS = {"tomcat": (8443,), "CallManager": (5061, 2749), "TVS": (2445,),
             "CAPF": (3804,), "ipsec": (4040,)}
TOUCHES_PHONES = {"CallManager", "CAPF", "TVS"}


def _ok(live: LiveCluster, *args: str) -> Any:
    result = live.uccerts(*args)
    assert result.code == 0, f"uccerts {args}: {result.out}{result.err}"
    return result.json


def _run(live: LiveCluster, *args: str) -> Any:
    doc = _ok(live, "runbook", "run", *args, "--yes", "--json")
    assert doc["state"] == "done", doc
    assert all(s["state"] == "done" for s in doc["steps"]), doc
    return doc


def _refused(live: LiveCluster, code: str, override: str, *args: str) -> None:
    """``plan`` and ``run`` both refuse with ``code`` (exit 1), naming the override,
    and nothing is started."""
    before = _ok(live, "runbook", "list", "--json")
    plan = live.uccerts("runbook", "plan", *args, "--json")
    assert plan.code == 1, plan.out + plan.err
    assert [(g["code"], g["override"]) for g in plan.json["guards"]] == [(code, override)]
    run = live.uccerts("runbook", "run", *args, "--yes", "--json")
    assert run.code == 1, run.out + run.err
    error = run.json["errors"][0]
    assert error["code"] == code and override in error["fix"], error
    text = live.uccerts("runbook", "run", *args, "--yes")
    assert text.code == 1 and code in text.err and override in text.err, text.err
    assert _ok(live, "runbook", "list", "--json") == before


def _services(live: LiveCluster, node: str) -> dict[str, Any]:
    return {r["service"]: r for r in _ok(live, "service", "list", node, "--json")}


def _served(live: LiveCluster, nodes: tuple[str, ...], purpose: str) -> dict[tuple[str, int], str]:
    return {(n, port): live.served(n, port) for n in nodes for port in TLS_PORTS[purpose]}


def _restarted(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(s["node"], s["detail"].removeprefix("Restart ")) for s in doc["steps"]
            if s["action"] == "restart"}


def _assert_serving_new(live: LiveCluster, purpose: str, doc: dict[str, Any],
                        before: dict[tuple[str, int], str]) -> None:
    restarted = _restarted(doc)
    assert restarted
    for node, service in restarted:
        row = _services(live, node)[service]
        assert row["state"] == "STARTED", row
        assert row["restart_needed"] is False, row
        assert row["certificate_sha256"] == row["installed_sha256"], row
    for (node, port), old in before.items():
        now = live.served(node, port)
        assert now != old, f"{node}:{port} still serves the old {purpose} certificate"
        shown = _ok(live, "cert", "show", node, purpose, "--json")
        assert now == shown["sha256"] and shown["self_signed"] is False


def _assert_phones_registered(live: LiveCluster) -> None:
    status = live.phones()
    assert status["total"] == PHONES
    assert status["by_state"]["REGISTERED"] == PHONES, status["by_state"]


@pytest.mark.parametrize("purpose", ["tomcat", "CallManager", "ipsec", "CAPF", "TVS"])
def test_each_purpose_runs_to_done_and_every_listener_serves_the_new_certificate(
        live: LiveCluster, purpose: str) -> None:
    plan = _ok(live, "runbook", "plan", purpose, "--ca", "lab", "--json")
    assert plan["guards"] == [] and plan["purpose"] == purpose
    nodes = tuple(plan["nodes"])
    before = _served(live, nodes, purpose)
    doc = _run(live, purpose, "--ca", "lab")
    assert [(s["n"], s["node"], s["action"]) for s in doc["steps"]] == [
        (s["n"], s["node"], s["action"]) for s in plan["steps"]]
    _assert_serving_new(live, purpose, doc, before)
    waits = [s for s in doc["steps"] if s["action"] == "wait-registration"]
    assert bool(waits) == (purpose in TOUCHES_PHONES)
    _assert_phones_registered(live)


def test_tvs_after_a_finished_callmanager_runbook_is_not_guarded(live: LiveCluster) -> None:
    _run(live, "CallManager", "--ca", "lab")
    _assert_phones_registered(live)
    plan = live.uccerts("runbook", "plan", "TVS", "--json")
    assert plan.code == 0, plan.out + plan.err
    codes = {g["code"] for g in plan.json["guards"]}
    assert not codes & {"callmanager-tvs-together", "phones-not-registered"}
    assert codes == set()
    before = _served(live, (PUB, SUB), "TVS")
    doc = _run(live, "TVS", "--ca", "lab")
    _assert_serving_new(live, "TVS", doc, before)
    _assert_phones_registered(live)  # both changed, one after the other: phones are fine


def test_sso_guard_refuses_tomcat_and_manage_sso_disables_then_reenables(
        live: LiveCluster) -> None:
    _ok(live, "cluster", "sso", "enable", "--json")
    _refused(live, "sso-enabled", "--manage-sso", "tomcat", "--nodes", PUB)
    before = _served(live, (PUB,), "tomcat")
    doc = _run(live, "tomcat", "--nodes", PUB, "--manage-sso")
    actions = [s["action"] for s in doc["steps"]]
    assert actions.index("disable-sso") < actions.index("generate-csr")
    assert actions[-1] == "enable-sso"
    _assert_serving_new(live, "tomcat", doc, before)
    assert _ok(live, "cluster", "show", "--json")["sso_enabled"] is True
    audit = _ok(live, "audit", "list", "--limit", "200", "--json")
    assert [e["detail"] for e in audit if e["action"] == "sso"][:3] == [
        "enabled", "disabled", "enabled"]  # newest first: re-enabled, disabled, by hand


def test_itl_pair_guard_refuses_tvs_while_callmanager_is_unfinished(
        live: LiveCluster, tmp_path: Path) -> None:
    folder = tmp_path / "csr-out"
    waiting = _ok(live, "runbook", "run", "CallManager", "--ca", "manual", "--folder",
                  str(folder), "--yes", "--json")
    assert waiting["state"] == "waiting"
    assert sorted(p.name for p in folder.glob("*.csr")) == [
        f"{PUB}-CallManager.csr"]  # paused at the first node's CA answer
    _refused(live, "callmanager-tvs-together", "--allow-itl-risk", "TVS")
    lifted = _ok(live, "runbook", "plan", "TVS", "--allow-itl-risk", "--json")
    assert lifted["guards"] == [] and lifted["steps"]
    # Nothing changed for the phones: the CallManager runbook is still waiting.
    _assert_phones_registered(live)
    assert [r["state"] for r in _ok(live, "runbook", "list", "--json")] == ["waiting"]


def test_backup_guard_refuses_ipsec_while_a_backup_runs(live: LiveCluster) -> None:
    started = _ok(live, "drf", "backup", "start", "--json")
    assert started["running"] is True and started["changed"] is True
    assert _ok(live, "drf", "backup", "status", "--json")["running"] is True
    again = live.uccerts("drf", "backup", "start", "--json")
    assert again.code == 1 and again.json["errors"][0]["code"] == "backup-already-running"
    _refused(live, "backup-running", "--ignore-backup", "ipsec")
    before = _served(live, (PUB, SUB, IMP), "ipsec")
    doc = _run(live, "ipsec", "--ignore-backup")
    _assert_serving_new(live, "ipsec", doc, before)
    stopped = _ok(live, "drf", "backup", "stop", "--json")
    assert stopped["running"] is False and stopped["changed"] is True
    assert _ok(live, "runbook", "plan", "ipsec", "--json")["guards"] == []
    actions = [e["action"] for e in _ok(live, "audit", "list", "--limit", "500", "--json")]
    assert "drf backup start" in actions and "drf backup stop" in actions


def test_capf_guard_refuses_a_subscriber_and_the_override_keeps_the_publisher(
        live: LiveCluster) -> None:
    nodes = ("--nodes", PUB, "--nodes", SUB)
    _refused(live, "capf-not-publisher", "--allow-capf-node", "CAPF", *nodes)
    before = _served(live, (PUB,), "CAPF")
    sub_capf = _services(live, SUB)["Cisco Certificate Authority Proxy Function"]
    doc = _run(live, "CAPF", *nodes, "--allow-capf-node")
    assert {s["node"] for s in doc["steps"]} == {PUB}
    _assert_serving_new(live, "CAPF", doc, before)
    assert _services(live, SUB)["Cisco Certificate Authority Proxy Function"] == sub_capf
    _assert_phones_registered(live)
