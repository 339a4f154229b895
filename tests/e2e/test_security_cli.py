"""Security mode, CTL and SAML SSO through the real ``uccerts`` command (cli.md
"Cluster")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cli_runner import Result

Run = Callable[..., Result]

RESULT_KEYS = {"cluster", "mode", "security_mode", "changed", "ctl_sha256", "records",
               "next_steps", "note"}


def cert_sha(uccerts: Run, node: str, purpose: str) -> str:
    shown = uccerts("cert", "show", node, purpose, "--json")
    assert shown.code == 0, shown.err
    sha: str = shown.json["sha256"]
    return sha


def test_mixed_mode_json_and_cluster_show(uccerts: Run) -> None:
    mixed = uccerts("cluster", "security-mode", "mixed", "--json")
    assert mixed.code == 0, mixed.err
    doc = mixed.json
    assert doc.keys() == RESULT_KEYS
    assert (doc["cluster"], doc["mode"], doc["security_mode"], doc["changed"]) == (
        "lab", "mixed", 1, True)
    assert len(doc["ctl_sha256"]) == 64
    assert {(r["role"], r["node"]) for r in doc["records"]} == {
        ("CCM+TFTP", "cucm-pub"), ("CCM+TFTP", "cucm-sub1"), ("CAPF", "cucm-pub"),
        ("SAST", "cucm-pub")}
    sast = next(r for r in doc["records"] if r["role"] == "SAST")
    assert sast["sha256"] == cert_sha(uccerts, "cucm-pub", "ITLRecovery")
    steps = doc["next_steps"]
    assert steps["reset_phones"] is True
    assert [(s["node"], s["service"]) for s in steps["restart"]] == [
        ("cucm-pub", "Cisco TFTP"), ("cucm-sub1", "Cisco TFTP"),
        ("cucm-pub", "Cisco CallManager"), ("cucm-sub1", "Cisco CallManager")]
    shown = uccerts("cluster", "show", "--json")
    assert (shown.json["security_mode"], shown.json["ctl_sha256"]) == (1, doc["ctl_sha256"])
    text = uccerts("cluster", "show")
    assert "1 (mixed)" in text.out and doc["ctl_sha256"] in text.out


def test_mixed_mode_text_names_the_next_steps(uccerts: Run) -> None:
    done = uccerts("cluster", "security-mode", "MIXED")
    assert done.code == 0, done.err
    assert "security mode is now 1 (mixed)" in done.out
    tftp = done.out.index('uccerts service restart cucm-pub "Cisco TFTP"')
    cm = done.out.index('uccerts service restart cucm-pub "Cisco CallManager"')
    assert tftp < cm < done.out.index("uccerts phones reset")
    again = uccerts("cluster", "security-mode", "mixed")
    assert again.code == 0 and "already in mixed mode" in again.out
    assert "restart" not in again.out


def test_ctl_update_after_regenerating_callmanager(uccerts: Run) -> None:
    first = uccerts("cluster", "security-mode", "mixed", "--json").json
    assert uccerts("cert", "regenerate", "cucm-sub1", "CallManager", "--yes").code == 0
    new = cert_sha(uccerts, "cucm-sub1", "CallManager")
    updated = uccerts("ctl", "update", "--json")
    assert updated.code == 0, updated.err
    doc = updated.json
    assert doc.keys() == RESULT_KEYS and doc["changed"] is True
    assert doc["ctl_sha256"] != first["ctl_sha256"]
    assert {"role": "CCM+TFTP", "node": "cucm-sub1", "sha256": new} in doc["records"]
    text = uccerts("ctl", "update")
    assert text.code == 0 and "CTL was rebuilt" in text.out and new in text.out
    actions = [e["action"] for e in uccerts("audit", "list", "--json").json]
    assert actions[:3] == ["ctl update", "ctl update", "certificate regenerate"]


def test_ctl_update_in_non_secure_mode_exits_1_with_the_fix(uccerts: Run) -> None:
    refused = uccerts("ctl", "update")
    assert refused.code == 1 and refused.out == ""
    assert "ctl-non-secure" in refused.err
    assert "uccerts cluster security-mode mixed" in refused.err
    as_json = uccerts("ctl", "update", "--json")
    assert as_json.code == 1
    error = as_json.json["errors"][0]
    assert error["code"] == "ctl-non-secure"
    assert error["fix"] == "Set the cluster's security mode to mixed first"
    assert "uccerts cluster security-mode mixed" in error["hint"]
    assert uccerts("cluster", "show", "--json").json["ctl_sha256"] is None


def test_non_secure_withdraws_the_ctl(uccerts: Run) -> None:
    assert uccerts("cluster", "security-mode", "mixed").code == 0
    back = uccerts("cluster", "security-mode", "non-secure", "--json")
    assert back.code == 0, back.err
    assert (back.json["security_mode"], back.json["ctl_sha256"], back.json["records"]) == (
        0, None, [])
    assert uccerts("cluster", "show", "--json").json["ctl_sha256"] is None


@pytest.mark.parametrize(("args", "allowed"), [
    (("cluster", "security-mode", "secure"), "mixed, non-secure"),
    (("cluster", "sso", "on"), "enable, disable"),
])
def test_bad_values_are_usage_errors_naming_the_allowed(uccerts: Run, args: tuple[str, ...],
                                                         allowed: str) -> None:
    text = uccerts(*args)
    assert text.code == 2 and allowed in text.err
    as_json = uccerts(*args, "--json")
    assert as_json.code == 2 and allowed in as_json.json["errors"][0]["fix"]


def test_sso_enable_disable(uccerts: Run) -> None:
    on = uccerts("cluster", "sso", "enable", "--json")
    assert on.code == 0, on.err
    assert on.json == {"cluster": "lab", "sso_enabled": True, "changed": True}
    assert uccerts("cluster", "show", "--json").json["sso_enabled"] is True
    again = uccerts("cluster", "sso", "Enable")
    assert again.code == 0 and "already enabled" in again.out
    off = uccerts("cluster", "sso", "disable")
    assert off.code == 0 and "SAML SSO disabled" in off.out
    assert uccerts("cluster", "show", "--json").json["sso_enabled"] is False
