"""SIGKILL a tomcat runbook at random moments, resume it until done, many times over
(``UCCERTS_KILL_TRIALS``, default 20): afterwards every runbook is done, the store is
consistent and no step was done twice (domain.md §10; services/runbook.py records
each step before and after it runs).

Long-running, so it runs on its own: ``make test-kill`` (CI runs it after ``make
test``); the default run skips it and keeps the 3-trial version in
``test_runbook_live.py``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cli_runner import ENTRY
from live import LiveCluster

NODES = ("cucm-pub", "cucm-sub1", "imp-pub")
TOMCAT = "Cisco Tomcat"
MAX_RESUMES = 5
RUN_TIMEOUT_S = 120.0

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _only_when_named(request: pytest.FixtureRequest) -> None:
    """The project has no convention for leaving slow tests out of the default run, so
    this file runs only when named on the command line (``make test-kill``)."""
    here = Path(__file__).resolve()
    base = request.config.invocation_params.dir
    if not any((base / arg.split("::")[0]).resolve() == here for arg in request.config.args):
        pytest.skip("runs on its own: make test-kill (pytest tests/e2e/test_runbook_kills.py)")


def _ok(live: LiveCluster, *args: str) -> Any:
    result = live.uccerts(*args)
    assert result.code == 0, f"uccerts {args}: {result.out}{result.err}"
    return result.json


def _spawn(live: LiveCluster, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UCCERTS_")}
    env["UCCERTS_HOME"] = str(live.home)
    return subprocess.Popen([sys.executable, "-c", ENTRY, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def _kill_after(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL ``proc`` after ``delay`` s; False when it had already ended by itself."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return True


def _latest(live: LiveCluster) -> dict[str, Any] | None:
    listing: list[dict[str, Any]] = _ok(live, "runbook", "list", "--json")
    return listing[0] if listing else None


def _first_not_done(runbook: dict[str, Any]) -> str:
    step = next((s for s in runbook["steps"] if s["state"] != "done"), None)
    return f"{step['n']}.{step['action']}" if step else "all steps"


def _resume_until_done(live: LiveCluster, runbook_id: str) -> None:
    for _ in range(MAX_RESUMES):
        resumed = live.uccerts("runbook", "resume", runbook_id, "--json")
        if resumed.code == 0 and resumed.json["state"] == "done":
            return
    raise AssertionError(f"runbook {runbook_id} not done after {MAX_RESUMES} resumes: "
                         + resumed.out + resumed.err)


def _moment(rng: random.Random, startup: float, duration: float) -> float:
    """When to kill: mostly while the steps run (after the CLI's start-up, which takes
    most of a run), sometimes during the start-up itself."""
    if rng.random() < 0.15:
        return rng.uniform(0.0, startup)
    return rng.uniform(startup * 0.9, duration * 1.05)


def _per_runbook(audit: list[dict[str, Any]]) -> dict[int, Counter[tuple[str, str]]]:
    """(action, node) counts of the tomcat changes each runbook made. Runbooks ran one
    after the other, so an entry belongs to the last ``runbook start`` before it."""
    counts: dict[int, Counter[tuple[str, str]]] = {}
    current: int | None = None
    for entry in reversed(audit):  # oldest first
        if entry["action"] == "runbook start" and entry["outcome"] == "ok":
            current = int(entry["detail"].split(":")[0].removeprefix("runbook "))
            counts[current] = Counter()
        elif current is not None and entry["purpose"] == "tomcat" and entry["outcome"] == "ok":
            counts[current][(entry["action"], entry["node"])] += 1
    return counts


def test_sigkill_tomcat_runbooks_at_random_moments_and_resume(live: LiveCluster) -> None:
    trials = int(os.environ.get("UCCERTS_KILL_TRIALS", "20"))
    rng = random.Random(os.environ.get("UCCERTS_KILL_SEED", "runbook-kills"))

    # One uninterrupted run measures how long a run lasts on this machine (and how long
    # the CLI takes to start): kills then land over the whole of a run.
    started = time.monotonic()
    _ok(live, "runbook", "list", "--json")
    startup = time.monotonic() - started
    started = time.monotonic()
    _ok(live, "runbook", "run", "tomcat", "--yes", "--json")
    duration = time.monotonic() - started

    interrupted: Counter[str] = Counter()
    for _ in range(trials):
        before = _latest(live)
        proc = _spawn(live, "runbook", "run", "tomcat", "--yes")
        if not _kill_after(proc, _moment(rng, startup, duration)):
            assert proc.returncode == 0, "an uninterrupted run failed"
            interrupted["finished before the kill"] += 1
            continue
        latest = _latest(live)
        if latest is None or (before is not None and latest["id"] == before["id"]):
            interrupted["before the runbook was stored"] += 1
            continue
        interrupted[_first_not_done(latest)] += 1
        if latest["state"] == "done":
            continue
        runbook_id = str(latest["id"])
        if rng.random() < 0.3:  # now and then the resume is killed too
            _kill_after(_spawn(live, "runbook", "resume", runbook_id),
                        _moment(rng, startup, duration))
        _resume_until_done(live, runbook_id)
    print(f"\n{trials} kills (run {duration:.2f} s, start-up {startup:.2f} s); "
          f"interrupted at: {dict(sorted(interrupted.items()))}")
    killed_mid_run = sum(n for where, n in interrupted.items() if where[0].isdigit())
    assert killed_mid_run >= trials // 4, interrupted

    # Every runbook done.
    runbooks = _ok(live, "runbook", "list", "--json")
    assert len(runbooks) >= 1 + killed_mid_run
    assert all(r["state"] == "done" for r in runbooks), [(r["id"], r["state"]) for r in runbooks]
    assert all(s["state"] == "done" for r in runbooks for s in r["steps"])

    # The store is consistent: no CSR left pending, every tomcat identity CA-signed,
    # every Cisco Tomcat serving what is installed.
    assert _ok(live, "csr", "list", "--json") == []
    for node in NODES:
        shown = _ok(live, "cert", "show", node, "tomcat", "--json")
        assert shown["self_signed"] is False
        row = next(r for r in _ok(live, "service", "list", node, "--json")
                   if r["service"] == TOMCAT)
        assert row["state"] == "STARTED" and row["restart_needed"] is False, row
        assert row["certificate_sha256"] == row["installed_sha256"] == shown["sha256"]
        assert live.served(node, 8443) == shown["sha256"]

    # No step done twice: per runbook, one CSR and one certificate upload per node
    # ("csr generate", "certificate upload" in the audit trail); the lab CA's root and
    # intermediate went into tomcat-trust once (replicated to every node) in all.
    audit = _ok(live, "audit", "list", "--limit", "10000", "--json")
    counts = _per_runbook(audit)
    assert sorted(counts) == sorted(r["id"] for r in runbooks)
    for number, done in counts.items():
        for node in NODES:
            assert done[("csr generate", node)] == 1, (number, node, done)
            assert done[("certificate upload", node)] == 1, (number, node, done)
    trust = [e for e in audit if e["action"] == "trust upload" and e["outcome"] == "ok"]
    assert len(trust) == 2, trust
