"""The seed's consequences, for real: a live ``uccerts serve``, real TLS handshakes,
real phones (issue scenarios for the running cluster)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509

from live import LiveCluster, refuses

PUB, SUB, IMP = "cucm-pub", "cucm-sub1", "imp-pub"
CUCM = (PUB, SUB)
TOMCAT, TVS, TFTP = "Cisco Tomcat", "Cisco Trust Verification Service", "Cisco TFTP"
CM, CTI = "Cisco CallManager", "Cisco CTIManager"


def _restart(live: LiveCluster, node: str, *services: str) -> None:
    for service in services:
        done = live.uccerts("service", "restart", node, service)
        assert done.code == 0, done.err
        assert done.out.splitlines() == [f"{service}[STOPPING]", f"{service}[STOPPED]",
                                         f"{service}[STARTING]", f"{service}[STARTED]"]


def _regenerate(live: LiveCluster, node: str, purpose: str) -> str:
    done = live.uccerts("cert", "regenerate", node, purpose, "--yes", "--json")
    assert done.code == 0, done.err
    shown = live.uccerts("cert", "show", node, purpose, "--pem")
    cert = x509.load_pem_x509_certificate(shown.out.encode())
    return hashlib.sha256(cert.public_bytes(_DER)).hexdigest()


def _reset(live: LiveCluster) -> dict[str, object]:
    done = live.uccerts("phones", "reset", "--wait", "--json")
    assert done.code == 0, done.err
    assert done.json["settled"] is True
    status: dict[str, object] = done.json["status"]
    return status


def _row(live: LiveCluster, node: str, service: str) -> dict[str, object]:
    rows = live.uccerts("service", "list", node, "--json").json
    row: dict[str, object] = next(r for r in rows if r["service"] == service)
    return row


def _all_registered(status: dict[str, object]) -> bool:
    by_state = status["by_state"]
    assert isinstance(by_state, dict)
    return by_state["REGISTERED"] == status["total"] == 20


from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402

_DER = Encoding.DER


def test_serve_runs_every_activated_service_and_boots_the_phones(live: LiveCluster) -> None:
    assert _all_registered(live.phones())
    listing = live.uccerts("service", "list", PUB, "--json")
    assert listing.code == 0
    rows = {r["service"]: r for r in listing.json}
    assert set(rows[TOMCAT]) >= {"service", "state", "port", "certificate_sha256"}
    assert rows[TOMCAT]["state"] == "STARTED" and 8443 in rows[TOMCAT]["ports"]
    assert rows["Cisco XCP Router"]["state"] == "NOT ACTIVATED"
    assert live.served(PUB, 8443) == rows[TOMCAT]["certificate_sha256"]
    assert live.served(PUB, 5061) == rows[CM]["certificate_sha256"]
    assert live.served(PUB, 2445) == rows[TVS]["certificate_sha256"]
    imp = {r["service"]: r["state"] for r in live.uccerts("service", "list", IMP, "--json").json}
    assert imp["Cisco XCP Router"] == "STARTED" and imp[CM] == "NOT ACTIVATED"
    # A second serve on the same home is refused, and the first keeps running.
    again = live.uccerts("serve")
    assert again.code == 1 and "already running" in again.err
    assert live.served(PUB, 8443) == rows[TOMCAT]["certificate_sha256"]


def test_a_ca_signed_tomcat_is_served_only_after_tomcat_restarts(live: LiveCluster,
                                                                  tmp_path: Path) -> None:
    before_pub, before_sub = live.served(PUB, 8443), live.served(SUB, 8443)
    csr = tmp_path / "pub.csr"
    assert live.uccerts("csr", "generate", PUB, "tomcat").code == 0
    assert live.uccerts("csr", "download", PUB, "tomcat", "-o", str(csr)).code == 0
    out = tmp_path / "ca"
    assert live.uccerts("ca", "sign", str(csr), "-o", str(out)).code == 0
    for name in ("root.pem", "intermediate.pem"):
        assert live.uccerts("cert", "upload", PUB, "tomcat-trust", str(out / name)).code == 0
    up = live.uccerts("cert", "upload", PUB, "tomcat", str(out / "leaf.pem"), "--json")
    assert up.code == 0, up.err
    assert up.json["services_to_restart"] == [{"node": PUB, "service": TOMCAT}]
    leaf = x509.load_pem_x509_certificate((out / "leaf.pem").read_bytes())
    new = hashlib.sha256(leaf.public_bytes(_DER)).hexdigest()

    assert live.served(PUB, 8443) == before_pub  # uploaded, not yet loaded
    pending = _row(live, PUB, TOMCAT)
    assert pending["restart_needed"] is True and pending["installed_sha256"] == new
    _restart(live, PUB, TOMCAT)
    assert live.served(PUB, 8443) == new
    assert live.service_sha(PUB, TOMCAT) == new
    assert _row(live, PUB, TOMCAT)["restart_needed"] is False
    assert live.served(SUB, 8443) == before_sub


def test_callmanager_alone_then_restarts_and_reset_phones_reregister(live: LiveCluster
                                                                     ) -> None:
    new = {node: _regenerate(live, node, "CallManager") for node in CUCM}
    for node in CUCM:
        _restart(live, node, TVS, TFTP, CM, CTI)
        assert live.served(node, 5061) == new[node]
        assert live.served(node, 2749) == new[node]
    status = _reset(live)
    assert _all_registered(status), status["by_state"]


def test_tvs_alone_then_restarts_and_reset_phones_reregister(live: LiveCluster) -> None:
    new = {node: _regenerate(live, node, "TVS") for node in CUCM}
    for node in CUCM:
        _restart(live, node, TFTP, TVS)
        assert live.served(node, 2445) == new[node]
    assert _all_registered(_reset(live))


def test_callmanager_and_tvs_together_strand_the_phones_until_their_itl_is_deleted(
        live: LiveCluster) -> None:
    for node in CUCM:
        _regenerate(live, node, "CallManager")
        _regenerate(live, node, "TVS")
    for node in CUCM:
        _restart(live, node, TVS, TFTP, CM, CTI)
    status = _reset(live)
    assert status["by_state"] == {"REGISTERED": 0, "UNREGISTERED": 0, "REJECTED": 20,
                                  "RESETTING": 0}
    phones = status["phones"]
    assert isinstance(phones, list)
    assert {p["reason"] for p in phones} == {"ITL mismatch"}
    text = live.uccerts("phones", "status")
    assert "20 phone(s): ITL mismatch" in text.out

    one = phones[0]["mac"]
    first = live.uccerts("phones", "delete-itl", one, "--wait", "--json")
    assert first.code == 0 and first.json["deleted"] == 1
    after_one = {p["mac"]: p["state"] for p in first.json["status"]["phones"]}
    assert after_one[one] == "REGISTERED"
    assert list(after_one.values()).count("REJECTED") == 19

    rest = live.uccerts("phones", "delete-itl", "--all", "--wait", "--json")
    assert rest.code == 0
    assert _all_registered(rest.json["status"])


def test_sigkill_keeps_loaded_certificates_and_the_phones_itl(live: LiveCluster) -> None:
    loaded = {(n, s): live.service_sha(n, s) for n in CUCM for s in (TOMCAT, CM, TVS)}
    assert live.kill() == -9
    # While the cluster is down the store moves on: CallManager and TVS both change.
    for node in CUCM:
        _regenerate(live, node, "CallManager")
        _regenerate(live, node, "TVS")
        _regenerate(live, node, "tomcat")
    down = live.uccerts("service", "list", PUB)
    assert down.code == 3 and "not running" in down.err
    live.start()
    # Services come back with what they had loaded, not with the store's newer ones.
    for (node, service), sha in loaded.items():
        assert live.service_sha(node, service) == sha
    assert live.served(PUB, 8443) == loaded[(PUB, TOMCAT)]
    assert _all_registered(live.phones())
    # The phones kept their ITL: had they lost it, they would accept any new one.
    for node in CUCM:
        _restart(live, node, TVS, TFTP, CM, CTI)
    status = _reset(live)
    assert status["by_state"]["REJECTED"] == 20  # type: ignore[index]


def test_stop_start_and_activation(live: LiveCluster) -> None:
    address = live.addresses[SUB]
    stopped = live.uccerts("service", "stop", SUB, "cisco ctimanager")
    assert stopped.code == 0 and stopped.out.splitlines()[-1] == f"{CTI}[STOPPED]"
    assert refuses(address, 2749)
    assert live.uccerts("service", "start", SUB, CTI).code == 0
    assert not refuses(address, 2749)
    wrong = live.uccerts("service", "activate", SUB, "Cisco DRF Master")
    assert wrong.code == 1 and "does not run on" in wrong.err
    assert live.uccerts("service", "restart", SUB, "Cisco XCP Router").code == 1
    assert live.uccerts("service", "restart", SUB, "Cisco Nothing").code == 2
    assert live.uccerts("service", "list", "nowhere").code == 2
    audit = live.uccerts("audit", "list", "--json")
    actions = [e["action"] for e in audit.json]
    assert "service stop" in actions and "service start" in actions


def test_sigterm_stops_every_listener_and_the_control_socket(live: LiveCluster) -> None:
    address = live.addresses[PUB]
    assert not refuses(address, 8443)
    assert live.stop() == 0
    assert refuses(address, 8443) and refuses(address, 5061) and refuses(address, 6970)
    assert not (live.home / "serve.sock").exists()
    down = live.uccerts("phones", "status", "--json")
    assert down.code == 3 and down.json["errors"][0]["code"] == "cluster-not-running"
    live.start()  # the lock went with the process: a new serve starts at once
    assert _all_registered(live.phones())


def test_mixed_mode_phones_reregister_after_a_callmanager_change_only_once_the_ctl_is_updated(
        live: LiveCluster) -> None:
    mixed = live.uccerts("cluster", "security-mode", "mixed", "--json")
    assert mixed.code == 0, mixed.err
    for node in CUCM:
        _restart(live, node, TFTP, CM)
    assert _all_registered(_reset(live))  # every phone took the first CTL

    for node in CUCM:
        _regenerate(live, node, "CallManager")
    for node in CUCM:  # the CTL update step skipped
        _restart(live, node, TVS, TFTP, CM, CTI)
    status = _reset(live)
    assert status["by_state"]["REJECTED"] == 20  # type: ignore[index]
    assert {p["reason"] for p in status["phones"]} == {"CTL mismatch"}  # type: ignore[attr-defined]

    assert live.uccerts("ctl", "update").code == 0
    for node in CUCM:
        _restart(live, node, TFTP)
    assert _all_registered(_reset(live))
