"""Runbooks against a live cluster: plan, run with the lab CA, guards and overrides,
resume after SIGKILL (domain.md §10)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from cli_runner import ENTRY
from live import LiveCluster

PUB, SUB, IMP = "cucm-pub", "cucm-sub1", "imp-pub"


def _run(live: LiveCluster, *args: str) -> Any:
    done = live.uccerts("runbook", "run", *args, "--yes", "--json")
    assert done.code == 0, done.out + done.err
    assert done.json["state"] == "done"
    return done.json


def _serves_installed(live: LiveCluster, node: str, service: str) -> bool:
    rows = live.uccerts("service", "list", node, "--json").json
    row = next(r for r in rows if r["service"] == service)
    return row["restart_needed"] is False and row["certificate_sha256"] == row[
        "installed_sha256"]


def test_plan_lists_the_steps_and_refuses_with_guards(live: LiveCluster) -> None:
    plan = live.uccerts("runbook", "plan", "tomcat", "--json")
    assert plan.code == 0
    doc = plan.json
    assert doc["purpose"] == "tomcat" and doc["guards"] == []
    assert {"n", "node", "action", "detail"} <= set(doc["steps"][0])
    assert [s["node"] for s in doc["steps"] if s["action"] == "restart"] == [PUB, SUB, IMP]
    assert live.uccerts("cluster", "sso", "enable").code == 0
    refused = live.uccerts("runbook", "plan", "tomcat", "--json")
    assert refused.code == 1
    assert refused.json["guards"][0] == {
        "code": "sso-enabled", "override": "--manage-sso",
        "message": refused.json["guards"][0]["message"]}
    run = live.uccerts("runbook", "run", "tomcat", "--yes", "--json")
    assert run.code == 1 and "sso-enabled" in run.out
    assert live.uccerts("runbook", "list", "--json").json == []  # nothing was started


def test_tomcat_with_the_lab_ca_and_managed_sso(live: LiveCluster) -> None:
    assert live.uccerts("cluster", "sso", "enable").code == 0
    before = {n: live.served(n, 8443) for n in (PUB, SUB, IMP)}
    doc = _run(live, "tomcat", "--ca", "lab", "--manage-sso")
    assert all(s["state"] == "done" for s in doc["steps"])
    for node in (PUB, SUB, IMP):
        assert live.served(node, 8443) != before[node]
        assert _serves_installed(live, node, "Cisco Tomcat")
        shown = live.uccerts("cert", "show", node, "tomcat", "--json").json
        assert shown["self_signed"] is False
    assert live.uccerts("cluster", "show", "--json").json["sso_enabled"] is True


def test_callmanager_runbook_reregisters_the_phones_and_guards_tvs_meanwhile(
        live: LiveCluster) -> None:
    doc = _run(live, "CallManager")
    assert any(s["action"] == "wait-registration" for s in doc["steps"])
    status = live.phones()
    assert status["by_state"]["REGISTERED"] == status["total"] == 20
    for node in (PUB, SUB):
        assert _serves_installed(live, node, "Cisco CallManager")
    # Done: TVS may follow now without an override.
    assert live.uccerts("runbook", "plan", "TVS", "--json").code == 0


def test_multi_server_tomcat_installs_one_certificate_everywhere(live: LiveCluster) -> None:
    _run(live, "tomcat", "--distribution", "multi-server")
    shas = {live.uccerts("cert", "show", n, "tomcat", "--json").json["sha256"]
            for n in (PUB, SUB, IMP)}
    assert len(shas) == 1
    assert {live.served(n, 8443) for n in (PUB, SUB, IMP)} == shas


def _start_run(live: LiveCluster, purpose: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UCCERTS_")}
    env["UCCERTS_HOME"] = str(live.home)
    return subprocess.Popen([sys.executable, "-c", ENTRY, "runbook", "run", purpose,
                             "--yes", "--json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)


@pytest.mark.parametrize("purpose", ["tomcat", "CallManager"])
def test_sigkill_at_random_points_then_resume_finishes_without_repeating_work(
        live: LiveCluster, purpose: str) -> None:
    trials = int(os.environ.get("UCCERTS_KILL_TRIALS", "3"))
    rng = random.Random(purpose)
    for trial in range(trials):
        known = len(live.uccerts("runbook", "list", "--json").json)
        proc = _start_run(live, purpose)
        # Kill at a random moment once this trial's runbook exists (start-up is slow
        # under load; a kill before the runbook is stored would test nothing).
        deadline = time.monotonic() + 60
        while len(live.uccerts("runbook", "list", "--json").json) == known:
            assert proc.poll() is None, "runbook run ended before it stored a runbook"
            assert time.monotonic() < deadline, "no runbook stored within 60 s"
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 3.0) * (trial + 1) / trials)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        listing = live.uccerts("runbook", "list", "--json").json
        if listing[0]["state"] == "done":
            continue
        runbook_id = str(listing[0]["id"])
        for _ in range(5):
            resumed = live.uccerts("runbook", "resume", runbook_id, "--json")
            if resumed.code == 0 and resumed.json["state"] == "done":
                break
        else:
            raise AssertionError(resumed.out + resumed.err)
    runbooks = live.uccerts("runbook", "list", "--json").json
    assert runbooks and all(r["state"] == "done" for r in runbooks)
    audit = live.uccerts("audit", "list", "--limit", "5000", "--json").json
    # Each run generated one CSR and installed one certificate per node: a step that
    # was done is never done again.
    per_node = 3 if purpose == "tomcat" else 2
    assert sum(e["action"] == "csr generate" for e in audit) == per_node * len(runbooks)
    store = live.uccerts("csr", "list", "--json").json
    assert store == []  # every CSR was consumed by its upload
    for node in (PUB, SUB):
        service = "Cisco Tomcat" if purpose == "tomcat" else "Cisco CallManager"
        assert _serves_installed(live, node, service)
