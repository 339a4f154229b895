"""The native API as a script meets it: over HTTPS on a running cluster's Cisco Tomcat
(``uccerts serve`` in a subprocess), the tomcat procedure to its end, the new
certificate served once Tomcat restarts at the API's request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_client import PROBLEM, RW
from cli_runner import run_uccerts
from clusters import pem, sign
from live import LiveCluster, live_topology, served_sha256
from uccerts.services.views import sha256_of

NODE, SUB, PORT = "cucm-pub", "cucm-sub1", 8443


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveCluster]:
    home = tmp_path / "home"
    topology = tmp_path / "lab.toml"
    topology.write_text(live_topology())
    assert run_uccerts(home, "cluster", "init", "--topology", topology).code == 0
    added = run_uccerts(home, "admin", "add", RW[0], "--role", "read-write",
                        "--password-stdin", stdin=RW[1].encode() + b"\n")
    assert added.code == 0, added.err
    cluster = LiveCluster(home)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.kill()


def api(address: str) -> httpx.Client:
    return httpx.Client(base_url=f"https://{address}:{PORT}/api/v1", verify=False,
                        auth=RW, timeout=60)


def test_a_script_replaces_tomcat_and_restarts_it_through_the_api(live: LiveCluster) -> None:
    address = live.addresses[NODE]
    before = served_sha256(address, PORT)
    with api(address) as client:
        assert client.get("/node").json()["name"] == NODE
        assert httpx.get(f"https://{address}:{PORT}/api/v1/ping",
                         verify=False).status_code == 401
        csr = client.post(f"/nodes/{NODE}/csrs", json={"purpose": "tomcat"}).json()["csr"]
        bundle = sign(csr)
        early = client.post(f"/nodes/{NODE}/certificates/tomcat",
                            json={"pem": pem(bundle.leaf).decode()})
        assert early.status_code == 400
        assert early.headers["content-type"] == PROBLEM
        assert early.json()["code"] == "ca-not-in-trust-store"
        for ca in (bundle.root, bundle.intermediate):
            assert client.post(f"/nodes/{NODE}/certificates/tomcat-trust",
                               json={"pem": pem(ca).decode()}).status_code == 201
        assert client.post(f"/nodes/{NODE}/certificates/tomcat",
                           json={"pem": pem(bundle.leaf).decode()}).status_code == 201
        assert served_sha256(address, PORT) == before  # not served before the restart
        row = next(r for r in client.get(f"/nodes/{NODE}/services").json()
                   if r["service"] == "Cisco Tomcat")
        assert row["restart_needed"] is True
        restart = client.post(f"/nodes/{NODE}/services/Cisco%20Tomcat/restart")
        assert restart.status_code == 202, restart.text

    leaf = sha256_of(bundle.leaf)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if served_sha256(address, PORT) == leaf:
                break
        except OSError:
            pass  # between STOPPED and STARTED
        time.sleep(0.1)
    assert served_sha256(address, PORT) == leaf

    with api(address) as client:  # a new connection: the restart closed the old one
        row = next(r for r in client.get(f"/nodes/{NODE}/services").json()
                   if r["service"] == "Cisco Tomcat")
        assert (row["state"], row["certificate_sha256"], row["restart_needed"]) == (
            "STARTED", leaf, False)
        other = client.post(f"/nodes/{SUB}/services/Cisco%20CallManager/restart")
        assert other.status_code == 200, other.text
        assert other.json()["events"][-1] == "Cisco CallManager[STARTED]"
        phones = client.get("/phones", params={"wait": True, "timeout": 60}).json()
        assert phones["total"] > 0 and phones["by_state"]["RESETTING"] == 0
        entries = client.get("/audit").json()
        restarts = [e for e in entries if e["action"] == "service restart"]
        assert {(e["node"], e["actor"], e["source"]) for e in restarts} == {
            (NODE, RW[0], "api"), (SUB, RW[0], "api")}
