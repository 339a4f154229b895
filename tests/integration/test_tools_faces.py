"""The offline check is defined once (``services/tools.py``): the CLI, the native API
and the web console give the same verdict and the same finding codes for the same
files, on the same rules (which purposes, SAN matching, strictness)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from api_client import API, RO, client_for
from cli_runner import run_uccerts
from clusters import TOPOLOGY, KeyPool
from tests import pki
from tests.integration.web_console import Console
from tests.pki import CA, make_csr
from uccerts.bootstrap import build_from_uow
from uccerts.storage.memory import MemoryStore

FINDING = re.compile(r'class="finding (error|warning)" data-code="([^"]+)"')
USER, PASSWORD = RO


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("faces")
    now = dt.datetime.now(dt.UTC)
    root = CA.root("Faces Root", not_before=now - 30 * pki.DAY)
    issuing = root.intermediate("Faces Issuing CA", not_before=now - 20 * pki.DAY)
    csr, _key = make_csr("domain.com", ["domain.com", "sub.domain.com"])
    (d / "csr.pem").write_bytes(pki.csr_pem(csr))
    (d / "good.pem").write_bytes(pki.pem(issuing.sign_csr(csr, not_before=now - pki.DAY),
                                         issuing.cert))
    (d / "seed.pem").write_bytes(pki.pem(issuing.sign_csr(
        csr, add_sans=["*.domain.com"], not_before=now - pki.DAY), issuing.cert))
    (d / "weak.pem").write_bytes(pki.pem(issuing.sign_csr(
        csr, not_before=now - pki.DAY, key_usage={"digital_signature"}), issuing.cert))
    (d / "cas.pem").write_bytes(pki.pem(root.cert, issuing.cert))
    (d / "root.pem").write_bytes(pki.pem(root.cert))
    return d


Verdict = tuple[bool, list[str], list[str]]  # ok, error codes, warning codes


def by_cli(d: Path, purpose: str, cert: str, ca: list[str], san: str, strict: bool) -> Verdict:
    args = [purpose, "--csr", "csr.pem", "--cert", cert, "--san-match", san, "--json"]
    args += [x for name in ca for x in ("--ca", name)] + (["--strict"] if strict else [])
    run = run_uccerts(None, "check", *args, cwd=d, timeout=60)
    assert run.code in (0, 1), run.err
    doc = run.json
    assert run.code == (0 if doc["ok"] else 1)
    return (doc["ok"], [e["code"] for e in doc["errors"]],
            [w["code"] for w in doc["warnings"]])


def by_api(client: Any, d: Path, purpose: str, cert: str, ca: list[str], san: str,
           strict: bool) -> Verdict:
    response = client.post(f"{API}/tools/check", auth=RO, json={
        "purpose": purpose, "csr": (d / "csr.pem").read_text(),
        "certificate": (d / cert).read_text(), "ca": [(d / n).read_text() for n in ca],
        "san_match": san, "strict": strict})
    assert response.status_code == 200, response.text
    doc = response.json()
    return (doc["ok"], [e["code"] for e in doc["errors"]],
            [w["code"] for w in doc["warnings"]])


def by_console(web: Console, d: Path, purpose: str, cert: str, ca: list[str], san: str,
               strict: bool) -> Verdict:
    web.get("/tools")
    form = {"purpose": purpose, "csr_text": (d / "csr.pem").read_text(),
            "cert_text": (d / cert).read_text(),
            "ca_text": "".join((d / n).read_text() for n in ca), "san_match": san}
    if strict:
        form["strict"] = "on"
    page = web.post("/tools/check", form)
    assert page.status_code == 200, page.text
    found = FINDING.findall(page.text)
    ok = f"OK: the certificate can be uploaded for {purpose}" in page.text
    return (ok, [c for sev, c in found if sev == "error"],
            [c for sev, c in found if sev == "warning"])


CASES = [
    ("tomcat", "good.pem", ["root.pem"], "exact", False),
    ("tomcat", "good.pem", [], "exact", False),
    ("tomcat", "good.pem", ["cas.pem"], "exact", False),
    ("tomcat", "seed.pem", ["root.pem"], "exact", False),
    ("tomcat", "seed.pem", ["root.pem"], "superset", False),
    ("tomcat-ECDSA", "good.pem", ["root.pem"], "exact", False),
    ("CallManager", "weak.pem", ["root.pem"], "exact", False),
    ("CallManager", "weak.pem", ["root.pem"], "exact", True),
]


def test_three_faces_one_verdict(files: Path) -> None:
    services = build_from_uow(MemoryStore().uow, actor="tester", source="test",
                              keygen=KeyPool())
    services.clusters.init(TOPOLOGY)
    services.accounts.add(USER, "read-only", PASSWORD)
    with client_for(services) as client:
        web = Console(client)
        web.login(USER, PASSWORD)
        seen = set()
        for case in CASES:
            cli = by_cli(files, *case)
            assert by_api(client, files, *case) == cli, case
            assert by_console(web, files, *case) == cli, case
            seen.add(cli[0])
            seen.update(cli[1] + cli[2])
    # the cases reach both verdicts, errors and warnings
    assert {True, False} <= seen
    assert "san-mismatch" in seen or "wildcard-not-supported" in seen
    assert "key-usage-missing" in seen


def test_the_same_purposes_are_refused(files: Path) -> None:
    services = build_from_uow(MemoryStore().uow, keygen=KeyPool())
    services.clusters.init(TOPOLOGY)
    services.accounts.add(USER, "read-only", PASSWORD)
    run = run_uccerts(None, "check", "ITLRecovery", "--csr", "csr.pem", "--cert",
                      "good.pem", "--json", cwd=files, timeout=60)
    assert run.code == 2, run.err
    assert [e["code"] for e in run.json["errors"]] == ["purpose-self-signed-only"]
    with client_for(services) as client:
        api = client.post(f"{API}/tools/check", auth=RO, json={
            "purpose": "ITLRecovery", "csr": (files / "csr.pem").read_text(),
            "certificate": (files / "good.pem").read_text()})
        assert api.status_code == 400
        assert api.json()["code"] == "purpose-self-signed-only"
        web = Console(client)
        web.login(USER, PASSWORD)
        web.get("/tools")
        page = web.post("/tools/check", {"purpose": "ITLRecovery",
                                         "csr_text": (files / "csr.pem").read_text(),
                                         "cert_text": (files / "good.pem").read_text()})
        assert page.status_code == 400
        assert 'data-code="purpose-self-signed-only"' in page.text
