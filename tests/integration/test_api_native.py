"""The native REST API (/api/v1) through the whole app on SQLite (and PostgreSQL when
configured): the seed's tomcat procedure, certificates, CSRs, the cluster, accounts,
tokens, tools, and the running cluster's routes against a recording fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from api_client import (
    API,
    NODE,
    PROBLEM,
    RO,
    RW,
    FakeControl,
    TestClient,
    client_for,
    cluster_services,
)
from clusters import lab_ca, pem, sign
from uccerts.bootstrap import Services
from uccerts.domain.names import common_name

CA_NOT_TRUSTED = "CA certificate is not available in the trust-store"
SAN_MISMATCH = "CSR subject alternate name (SAN) and certificate SAN do not match"


@pytest.fixture
def svc(sql_store: Any) -> Services:
    return cluster_services(sql_store)


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
def client(svc: Services, control: FakeControl) -> Iterator[TestClient]:
    with client_for(svc, control) as client:
        client.auth = RW
        yield client


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = response.json()
    assert (doc["status"], doc["code"], doc["type"]) == (status, code, f"urn:uccerts:error:{code}")
    assert doc["title"] and doc["detail"]
    return doc


def audit(client: TestClient, action: str) -> dict[str, Any]:
    entries = client.get(f"{API}/audit", params={"limit": 200}, auth=RW).json()
    return next(e for e in entries if e["action"] == action)


# ------------------------------------------------------------------ the procedure


def test_the_tomcat_procedure_through_the_api(client: TestClient) -> None:
    generated = client.post(f"{API}/nodes/{NODE}/csrs", json={"purpose": "tomcat"})
    assert generated.status_code == 201, generated.text
    csr = generated.json()
    assert (csr["purpose"], csr["distribution"], csr["replaced"]) == (
        "tomcat", "this-server", False)
    assert csr["message"] == "Success: Certificate Signing Request Generated"
    assert csr["sans"] == ["uc.example", "cucm-pub.uc.example"]
    download = client.get(f"{API}/nodes/{NODE}/csrs/tomcat/download")
    assert download.text == csr["csr"]
    assert download.headers["content-type"] == "application/pkcs10"
    assert 'filename="cucm-pub-tomcat.csr"' in download.headers["content-disposition"]
    bundle = sign(csr["csr"])

    # The leaf before its root: refused with §5's message, code and fix, nothing stored.
    early = client.post(f"{API}/nodes/{NODE}/certificates/tomcat",
                        json={"pem": pem(bundle.leaf).decode()})
    doc = problem(early, 400, "ca-not-in-trust-store")
    assert doc["detail"] == CA_NOT_TRUSTED
    finding = next(f for f in doc["findings"] if f["code"] == "ca-not-in-trust-store")
    assert finding["message"] == CA_NOT_TRUSTED and finding["fix"]
    assert finding["severity"] == "error" and isinstance(finding["detail"], dict)
    assert client.get(f"{API}/nodes/{NODE}/csrs/tomcat").status_code == 200  # still pending

    # Root (multipart file) then intermediate (JSON PEM) into tomcat-trust.
    root = client.post(f"{API}/nodes/{NODE}/certificates/tomcat-trust",
                       files={"file": ("root.pem", pem(bundle.root))},
                       data={"description": "Lab root"})
    assert root.status_code == 201, root.text
    assert root.json()["purpose"] == "tomcat-trust"
    replicated = {i["node"] for i in root.json()["installed"]}
    assert replicated == {"cucm-pub", "cucm-sub1", "imp-pub"}  # tomcat-trust replicates
    inter = client.post(f"{API}/nodes/{NODE}/certificates/tomcat-trust",
                        json={"pem": pem(bundle.intermediate).decode(),
                              "description": "Lab issuing"})
    assert inter.status_code == 201, inter.text

    # A dry run says what would happen and stores nothing.
    dry = client.post(f"{API}/nodes/{NODE}/certificates/tomcat", params={"dry_run": "true"},
                      json={"pem": pem(bundle.leaf).decode()})
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert client.get(f"{API}/nodes/{NODE}/certificates/tomcat").json()["self_signed"]

    leaf = client.post(f"{API}/nodes/{NODE}/certificates/tomcat",
                       files={"file": ("leaf.pem", pem(bundle.leaf))})
    assert leaf.status_code == 201, leaf.text
    result = leaf.json()
    assert result["ok"] is True and result["warnings"] == []
    assert {"node": NODE, "service": "Cisco Tomcat"} in result["services_to_restart"]
    shown = client.get(f"{API}/nodes/{NODE}/certificates/tomcat").json()
    assert shown["self_signed"] is False
    assert shown["issuer"] == common_name(lab_ca().intermediate.subject)
    assert shown["pem"] == pem(bundle.leaf).decode()
    assert client.get(f"{API}/nodes/{NODE}/csrs/tomcat").status_code == 404  # consumed

    # Every change is audited as the API user, from "api"; the refusal too.
    entries = client.get(f"{API}/audit", params={"limit": 50}).json()
    mine = [e for e in entries if e["actor"] == RW[0]]
    assert {e["source"] for e in mine} == {"api"}
    assert ("certificate upload", "refused") in {(e["action"], e["outcome"]) for e in mine}
    assert ("certificate upload", "ok") in {(e["action"], e["outcome"]) for e in mine}
    assert audit(client, "csr generate")["node"] == NODE


def test_a_san_mismatch_lists_what_the_ca_added_and_every_finding(client: TestClient
                                                                   ) -> None:
    csr = client.post(f"{API}/nodes/{NODE}/csrs", json={"purpose": "tomcat"}).json()
    bundle = sign(csr["csr"], add_sans=("extra.uc.example",))
    doc = problem(client.post(f"{API}/nodes/{NODE}/certificates/tomcat",
                              json={"pem": (pem(bundle.leaf) + pem(bundle.intermediate,
                                                                   bundle.root)).decode()}),
                  400, "csr-san-mismatch")
    finding = next(f for f in doc["findings"] if f["code"] == "csr-san-mismatch")
    assert finding["message"] == SAN_MISMATCH
    assert finding["detail"]["added"] == ["extra.uc.example"]


def test_a_multi_server_csr_with_every_field(client: TestClient) -> None:
    body = {"purpose": "tomcat", "distribution": "multi-server",
            "common_name": "cucm-pub.uc.example", "other_domains": ["voice.uc.example"],
            "include_parent_domain": False, "key_length": 3072, "hash": "SHA384",
            "include_ou": False}
    response = client.post(f"{API}/nodes/{NODE}/csrs", json=body)
    assert response.status_code == 201, response.text
    csr = response.json()
    assert csr["distribution"] == "multi-server"
    assert csr["common_name"] == "cucm-pub.uc.example"
    assert "uc.example" not in csr["sans"] and "voice.uc.example" in csr["sans"]
    assert (csr["key_length"], csr["hash"]) == (3072, "SHA384")
    assert set(csr["nodes"]) == {"cucm-pub", "cucm-sub1", "imp-pub"}
    again = client.post(f"{API}/nodes/{NODE}/csrs", json={"purpose": "tomcat"}).json()
    assert again["replaced"] is True and again["warning"].startswith("Warning: Generating")
    listed = client.get(f"{API}/nodes/{NODE}/csrs").json()
    assert [c["purpose"] for c in listed] == ["tomcat"] and listed[0]["created"]
    assert client.get(f"{API}/csrs", params={"node": NODE}).json() == listed
    # An IP address as another domain of a multi-server CSR is refused, as in §4.
    problem(client.post(f"{API}/nodes/{NODE}/csrs", json={
        "purpose": "tomcat", "distribution": "multi-server", "other_domains": ["10.0.0.1"]}),
        400, "ip-not-allowed")
    problem(client.post(f"{API}/nodes/{NODE}/csrs", json={
        "purpose": "tomcat", "parent_domain": "x.example", "include_parent_domain": False}),
        400, "conflicting-options")


# ------------------------------------------------------------------ certificates


def test_lists_filter_as_the_cli_does(client: TestClient, svc: Services) -> None:
    everything = client.get(f"{API}/certificates").json()
    assert everything == [v.to_dict() for v in svc.certificates.list()]
    own = client.get(f"{API}/nodes/{NODE}/certificates", params={"type": "own"}).json()
    assert own and {c["node"] for c in own} == {NODE} and {c["type"] for c in own} == {"own"}
    cm = client.get(f"{API}/certificates", params={"purpose": "callmanager"}).json()
    assert {c["node"] for c in cm} == {"cucm-pub", "cucm-sub1"}
    assert {c["purpose"] for c in cm} == {"CallManager"}
    soon = client.get(f"{API}/nodes/{NODE}/certificates", params={"expires_within": 30})
    assert soon.json() == []
    problem(client.get(f"{API}/nodes/nowhere/certificates"), 404, "unknown-node")
    problem(client.get(f"{API}/certificates", params={"purpose": "nope"}), 404,
            "unknown-purpose")
    bad = client.get(f"{API}/certificates", params={"type": "mine"})
    assert problem(bad, 422, "invalid-request")["errors"][0]["field"] == "type"


def test_show_download_regenerate_and_delete(client: TestClient) -> None:
    shown = client.get(f"{API}/nodes/{NODE}/certificates/tomcat").json()
    as_pem = client.get(f"{API}/nodes/{NODE}/certificates/tomcat", params={"format": "pem"})
    assert as_pem.text == shown["pem"]
    as_der = client.get(f"{API}/nodes/{NODE}/certificates/tomcat", params={"format": "der"})
    assert x509.load_der_x509_certificate(as_der.content).serial_number == int(
        shown["serial"], 16)
    assert 'filename="tomcat.der"' in as_der.headers["content-disposition"]

    regenerated = client.post(f"{API}/nodes/{NODE}/certificates/tomcat/regenerate",
                              json={"key_length": 3072})
    assert regenerated.status_code == 200, regenerated.text
    body = regenerated.json()
    assert body["certificate"]["key_size"] == 3072
    assert body["warning"].startswith("WARNING: This operation will overwrite")
    assert {"node": NODE, "service": "Cisco Tomcat"} in body["services_to_restart"]
    assert client.post(f"{API}/nodes/{NODE}/certificates/ipsec/regenerate").status_code == 200

    root = lab_ca().root
    client.post(f"{API}/nodes/{NODE}/certificates/CallManager-trust",
                json={"pem": pem(root).decode()})
    trust = client.get(f"{API}/nodes/{NODE}/certificates",
                       params={"purpose": "CallManager-trust"}).json()
    filename = trust[0]["filename"]
    one = client.get(f"{API}/nodes/{NODE}/certificates/CallManager-trust/{filename}").json()
    assert one["common_name"] == common_name(root.subject) and one["type"] == "trust"
    problem(client.delete(f"{API}/nodes/{NODE}/certificates/tomcat/tomcat.pem"), 400,
            "identity-not-deletable")
    deleted = client.delete(f"{API}/nodes/{NODE}/certificates/CallManager-trust/{filename}")
    assert deleted.status_code == 200, deleted.text
    assert {r["node"] for r in deleted.json()["removed"]} == {"cucm-pub", "cucm-sub1"}
    problem(client.get(f"{API}/nodes/{NODE}/certificates/CallManager-trust/{filename}"), 404,
            "trust-file-not-found")
    problem(client.get(f"{API}/nodes/{NODE}/certificates/CallManager-trust"), 400,
            "file-required")


def test_upload_bodies_other_than_json_or_multipart_are_refused(client: TestClient) -> None:
    url = f"{API}/nodes/{NODE}/certificates/tomcat-trust"
    problem(client.post(url, content=pem(lab_ca().root),
                        headers={"content-type": "application/x-pem-file"}),
            415, "unsupported-media-type")
    problem(client.post(url, files={"other": ("x.pem", b"x")}), 422, "invalid-request")
    problem(client.post(url, json={"pem": "x", "desc": "typo"}), 422, "invalid-request")
    problem(client.post(url, json=["not", "an", "object"]), 422, "invalid-request")
    problem(client.post(url, content=b'{"pem": ', headers={"content-type": "application/json"}),
            400, "malformed-json")


def test_unreadable_files_are_audited_as_refusals(client: TestClient) -> None:
    url = f"{API}/nodes/{NODE}/certificates"
    problem(client.post(f"{url}/tomcat-trust", files={"file": ("hostname", b"cucm-pub\n")}),
            400, "invalid-certificate-file")
    problem(client.post(f"{url}/CallManager", json={"pem": "just some text"}),
            400, "invalid-certificate-file")
    entries = client.get(f"{API}/audit", params={"limit": 200}).json()
    refusals = [(e["action"], e["purpose"]) for e in entries if e["outcome"] == "refused"]
    assert sorted(refusals) == [("certificate upload", "CallManager"),
                                ("trust upload", "tomcat-trust")]


@pytest.mark.parametrize("body", [b'{"a":' * 3000, b"[" * 3000 + b"]" * 3000,
                                  b'{"pem": "\xff\xfe"}'])
def test_json_a_parser_cannot_read_is_a_400_problem_not_a_500(client: TestClient,
                                                                body: bytes) -> None:
    # Deep nesting raised RecursionError past the JSON parser's ValueError handler.
    url = f"{API}/nodes/{NODE}/certificates/tomcat-trust"
    problem(client.post(url, content=body, headers={"content-type": "application/json"}),
            400, "malformed-json")


# ------------------------------------------------------------------ cluster and nodes


def test_cluster_security_mode_sso_ctl_and_nodes(client: TestClient) -> None:
    cluster = client.get(f"{API}/cluster").json()
    assert (cluster["name"], cluster["security_mode"]) == ("lab", 0)
    assert [n["name"] for n in client.get(f"{API}/nodes").json()] == [
        n["name"] for n in cluster["nodes"]]
    assert client.get(f"{API}/node").json()["name"] == NODE  # the node served from
    assert client.get(f"{API}/nodes/cucm-sub1").json()["role"] == "subscriber"
    problem(client.post(f"{API}/cluster/ctl/update"), 409, "ctl-non-secure")
    mixed = client.put(f"{API}/cluster/security-mode", json={"mode": "mixed"}).json()
    assert (mixed["security_mode"], mixed["changed"]) == (1, True) and mixed["ctl_sha256"]
    updated = client.post(f"{API}/cluster/ctl/update").json()
    assert updated["next_steps"]["reset_phones"] is True
    assert client.put(f"{API}/cluster/sso", json={"enabled": True}).json()["changed"]
    assert client.get(f"{API}/cluster").json()["sso_enabled"] is True
    problem(client.put(f"{API}/cluster/security-mode", json={"mode": "secure"}), 422,
            "invalid-request")


def test_web_security_show_and_set(client: TestClient) -> None:
    body = {"orgunit": "Voice", "orgname": "Example", "locality": "Seoul", "state": "Seoul",
            "country": "KR", "alternate_hostnames": ["portal.uc.example", "10.1.1.1"]}
    before = client.get(f"{API}/nodes/{NODE}/certificates/tomcat").json()["sha256"]
    result = client.put(f"{API}/nodes/{NODE}/web-security", json=body)
    assert result.status_code == 200, result.text
    assert result.json()["regenerated"] is True
    shown = client.get(f"{API}/nodes/{NODE}/web-security").json()
    assert shown == body
    assert client.get(f"{API}/nodes/{NODE}/certificates/tomcat").json()["sha256"] != before
    problem(client.put(f"{API}/nodes/{NODE}/web-security", json=body | {"country": "K1"}),
            400, "invalid-subject")


# ------------------------------------------------------------------ accounts and tokens


def test_accounts_are_for_read_write_accounts(client: TestClient, svc: Services) -> None:
    assert {"user": RO[0], "role": "read-only"} in client.get(f"{API}/accounts").json()
    problem(client.get(f"{API}/accounts", auth=RO), 403, "read-only")
    added = client.post(f"{API}/accounts", json={"user": "ops", "role": "read-only",
                                                 "password": "ops-password-1"})
    assert added.status_code == 201 and added.json() == {"user": "ops", "role": "read-only"}
    assert client.get(f"{API}/ping", auth=("ops", "ops-password-1")).status_code == 200
    changed = client.put(f"{API}/accounts/ops/password", json={"password": "ops-password-2"})
    assert changed.json() == {"user": "ops", "password_changed": True}
    # The verified-credential cache forgets the old password at once.
    problem(client.get(f"{API}/ping", auth=("ops", "ops-password-1")), 401, "bad-credentials")
    assert client.get(f"{API}/ping", auth=("ops", "ops-password-2")).status_code == 200
    problem(client.post(f"{API}/accounts", json={"user": "x", "role": "read-only",
                                                 "password": "short"}), 400, "weak-password")
    assert client.delete(f"{API}/accounts/ops").json() == {"user": "ops", "removed": True}
    problem(client.delete(f"{API}/accounts/ops"), 404, "unknown-account")
    assert client.delete(f"{API}/accounts/admin").status_code == 200
    problem(client.delete(f"{API}/accounts/{RW[0]}"), 409, "last-administrator")
    # Account changes are audited outside any cluster (so not in GET /audit).
    with svc.ctx.read() as uow:
        entries = uow.audit.list(None, 100)
    assert ("admin add", RW[0], "api") in {(e.action, e.actor, e.source) for e in entries}


def test_bearer_tokens(client: TestClient) -> None:
    issued = client.post(f"{API}/auth/tokens", json={"ttl_hours": 2, "description": "ci"})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert issued.json()["role"] == "read-write"
    bearer = {"Authorization": f"Bearer {token}"}
    client.auth = None
    assert client.get(f"{API}/ping", headers=bearer).json()["user"] == RW[0]
    assert client.put(f"{API}/cluster/sso", json={"enabled": False},
                      headers=bearer).status_code == 200
    problem(client.post(f"{API}/auth/tokens", headers=bearer), 403, "token-from-token")
    # A read-only account's token is read-only.
    ro_token = client.post(f"{API}/auth/tokens", auth=RO).json()["token"]
    ro = {"Authorization": f"Bearer {ro_token}"}
    assert client.get(f"{API}/cluster", headers=ro).status_code == 200
    problem(client.put(f"{API}/cluster/sso", json={"enabled": True}, headers=ro), 403,
            "read-only")
    assert client.delete(f"{API}/auth/tokens/current", headers=bearer).json() == {
        "revoked": True}
    problem(client.get(f"{API}/ping", headers=bearer), 401, "bad-token")
    problem(client.get(f"{API}/ping", headers={"Authorization": "Bearer ucc_forged"}), 401,
            "bad-token")
    problem(client.delete(f"{API}/auth/tokens/current", auth=RW), 400, "no-token")
    entries = client.get(f"{API}/audit", auth=RW).json()
    assert {(e["action"], e["actor"], e["source"]) for e in entries} >= {
        ("api token create", RW[0], "api"), ("api token create", RO[0], "api"),
        ("api token revoke", RW[0], "api")}


def test_a_removed_account_s_token_stops_working(client: TestClient) -> None:
    client.post(f"{API}/accounts", json={"user": "bot", "role": "read-write",
                                         "password": "bot-password-1"})
    token = client.post(f"{API}/auth/tokens", auth=("bot", "bot-password-1")).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/ping", headers=bearer, auth=None).status_code == 200
    client.delete(f"{API}/accounts/bot")
    problem(client.get(f"{API}/ping", headers=bearer, auth=None), 401, "bad-token")


# ------------------------------------------------------------------ tools


def test_tools_decode_match_check(client: TestClient) -> None:
    csr = client.post(f"{API}/nodes/{NODE}/csrs", json={"purpose": "tomcat"}).json()["csr"]
    bundle = sign(csr)
    decoded = client.post(f"{API}/tools/decode", json={"pem": csr}, auth=RO).json()
    assert decoded["kind"] == "csr" and decoded["rdns"]["CN"] == "cucm-pub.uc.example"
    chain = client.post(f"{API}/tools/decode", json={"pem": bundle.chain_pem().decode()},
                        auth=RO).json()
    assert [c["kind"] for c in chain] == ["certificate"] * 3
    matched = client.post(f"{API}/tools/match", json={
        "certificate": pem(bundle.leaf).decode(), "csr": csr}, auth=RO).json()
    assert matched["match"] is True and matched["verdict"] == "The certificate and CSR match!"
    other = client.post(f"{API}/tools/match", json={
        "certificate": pem(bundle.root).decode(), "csr": csr}, auth=RO).json()
    assert other["match"] is False
    problem(client.post(f"{API}/tools/match", json={"certificate": csr}), 400, "usage")
    checked = client.post(f"{API}/tools/check", json={
        "purpose": "tomcat", "csr": csr, "certificate": pem(bundle.leaf).decode()},
        auth=RO).json()
    assert checked["ok"] is False
    assert [e["code"] for e in checked["errors"]] == ["ca-not-in-trust-store"]
    ok = client.post(f"{API}/tools/check", json={
        "purpose": "tomcat", "csr": csr, "certificate": pem(bundle.leaf).decode(),
        "ca": [pem(bundle.root).decode(), pem(bundle.intermediate).decode()]}).json()
    assert ok == {"ok": True, "errors": [], "warnings": []}
    problem(client.post(f"{API}/tools/decode", json={"pem": "hello"}), 400,
            "invalid-certificate-file")


# ------------------------------------------------------------------ running cluster


def test_services_go_through_the_control_of_the_running_cluster(
        client: TestClient, control: FakeControl) -> None:
    rows = client.get(f"{API}/nodes/cucm-sub1/services").json()
    assert rows[0]["service"] == "Cisco Tomcat"
    restarted = client.post(f"{API}/nodes/cucm-sub1/services/Cisco%20Tomcat/restart")
    assert restarted.status_code == 200, restarted.text
    assert restarted.json()["events"] == ["Cisco Tomcat[STOPPING]", "Cisco Tomcat[STARTING]",
                                          "Cisco Tomcat[STARTED]"]
    client.post(f"{API}/nodes/{NODE}/services/tftp/stop")
    assert control.calls[:3] == [
        ("service.list", {"node": "cucm-sub1"}, RW[0], "api"),
        ("service.restart", {"node": "cucm-sub1", "service": "Cisco Tomcat"}, RW[0], "api"),
        ("service.stop", {"node": NODE, "service": "Cisco TFTP"}, RW[0], "api")]
    problem(client.post(f"{API}/nodes/{NODE}/services/nope/start"), 404, "unknown-service")
    problem(client.post(f"{API}/nodes/{NODE}/services/tftp/reboot"), 422, "invalid-request")


def test_restarting_the_tomcat_that_serves_the_request_is_accepted_first(
        client: TestClient, control: FakeControl) -> None:
    response = client.post(f"{API}/nodes/{NODE}/services/Cisco%20Tomcat/restart")
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] is True
    deadline = time.monotonic() + 5
    while "service.restart" not in control.ops() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ("service.restart", {"node": NODE, "service": "Cisco Tomcat"}, RW[0],
            "api") in control.calls


def test_phones(client: TestClient, control: FakeControl) -> None:
    assert client.get(f"{API}/phones", auth=RO).json()["total"] == 2
    assert client.get(f"{API}/phones", params={"wait": True, "timeout": 5}).status_code == 200
    assert client.get(f"{API}/phones/history").json()[0]["by_state"]["REGISTERED"] == 2
    assert client.post(f"{API}/phones/reset", json={"node": NODE, "wait": True}).json() == {
        "reset": 2}
    assert client.post(f"{API}/phones/reset").status_code == 200
    assert client.post(f"{API}/phones/delete-itl", json={"all": True}).json() == {"deleted": 2}
    problem(client.post(f"{API}/phones/delete-itl", json={}), 400, "phones-none-selected")
    # wait: the seconds to wait at most (the body's timeout, 120 s by default)
    assert ("phones.reset", {"node": NODE, "wait": 120.0}, RW[0], "api") in control.calls


def test_without_a_running_cluster_its_routes_answer_503(svc: Services) -> None:
    with client_for(svc, None) as client:
        client.auth = RW
        for method, path in (("GET", f"/nodes/{NODE}/services"), ("GET", "/phones"),
                             ("POST", f"/nodes/{NODE}/services/Cisco%20Tomcat/restart"),
                             ("POST", "/phones/reset")):
            doc = problem(client.request(method, API + path), 503, "cluster-not-running")
            assert doc["fix"]
        assert client.get(f"{API}/cluster").status_code == 200  # the rest works


def test_the_cached_list_follows_every_change_from_any_face(client: TestClient,
                                                             svc: Services) -> None:
    url = f"{API}/nodes/{NODE}/certificates"
    first = client.get(url, params={"type": "own"})
    etag = first.headers["etag"]
    assert client.get(url, params={"type": "own"}, headers={"If-None-Match": etag}
                      ).status_code == 304
    # Changed by another face (the services directly, as the CLI or console would), twice
    # in the same second with the same audit text: each list shows the latest.
    for _ in range(2):
        svc.certificates.regenerate(NODE, "tomcat")
        listed = client.get(url, params={"type": "own"}).json()
        assert listed == [v.to_dict() for v in svc.certificates.list(NODE, kind="own")]
    assert client.get(url, params={"type": "own"}, headers={"If-None-Match": etag}
                      ).status_code == 200
    svc.certificates.upload(NODE, "CallManager-trust", pem(lab_ca().root))
    trust = client.get(url, params={"purpose": "CallManager-trust"}).json()
    assert [c["common_name"] for c in trust] == [common_name(lab_ca().root.subject)]
