"""The running cluster in-process over a real store (SQLite, and PostgreSQL when
``UCCERTS_TEST_PG_URL`` is set): service listeners, TFTP, TVS and the phone fleet, as
``serve`` wires them, checked from the outside (TLS handshakes, HTTP GETs, the store).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from clusters import lab_ca, pem, sign
from tests.integration.runtime_helpers import (
    TIMEOUT_S,
    bounded,
    client_context,
    handshake,
    make_cluster,
    refused,
    running,
    served_sha256,
)
from uccerts.bootstrap import Services
from uccerts.domain.control import ServiceAction, Who
from uccerts.domain.csr import CsrOptions
from uccerts.domain.purposes import SERVICES
from uccerts.domain.signedfile import cert_sha256
from uccerts.domain.trustlist import TrustRole, read_config, read_trust_list
from uccerts.errors import Refused
from uccerts.runtime import tvs, wire
from uccerts.runtime.control import SOCKET_NAME, ControlServer
from uccerts.runtime.control_codec import dispatcher
from uccerts.runtime.tlsctx import pinning_client_context
from uccerts.services.control import Blocking, SocketControl
from uccerts.services.serve import LocalControl
from uccerts.storage.sql import SqlStore

TOMCAT, TFTP, TVS = "Cisco Tomcat", "Cisco TFTP", "Cisco Trust Verification Service"
CTI = "Cisco CTIManager"
SERVICE_CERT = {s.name: s.certificate for s in SERVICES if s.certificate}
TLS_SERVICES = [s.name for s in SERVICES if s.name != TFTP]


@pytest.fixture
def cluster(sql_store: SqlStore) -> tuple[Services, dict[str, str]]:
    return make_cluster(sql_store.uow)


def run(body: Callable[[], Coroutine[Any, Any, None]], timeout: float = 60) -> None:
    asyncio.run(bounded(body(), timeout))


def identity_sha(svc: Services, node: str, purpose: str) -> str:
    return svc.certificates.show(node, purpose).sha256.replace(":", "").lower()


def activated(svc: Services, node: str) -> tuple[str, ...]:
    with svc.ctx.read() as uow:
        found = uow.clusters.node("lab", node)
    assert found is not None
    return found.services


def state(status: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(s for s in status if s["service"] == name)


# ------------------------------------------------------------------ boot


def test_after_boot_every_service_serves_its_identity_and_every_phone_registers(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster

    async def body() -> None:
        async with running(svc) as r:
            phones = await r.settled()
            assert phones["total"] == 6
            assert phones["by_state"]["REGISTERED"] == 6, phones["phones"]
            assert set(phones["by_node"]) == {"cucm-pub", "cucm-sub1"}
            assert all(n["REGISTERED"] == 3 for n in phones["by_node"].values())
            for node, address in addr.items():
                status = r.supervisor.status(node)
                started = [s for s in status if s["state"] == "STARTED"]
                assert started, node
                assert all(s["state"] in ("STARTED", "NOT ACTIVATED") for s in status)
                for s in started:
                    want = identity_sha(svc, node, SERVICE_CERT[s["service"]])
                    assert s["certificate_sha256"] == want, (node, s)
                    if s["service"] in TLS_SERVICES:
                        for port in s["ports"]:  # what a TLS client really receives
                            assert await served_sha256(address, port) == want, (node, s)
                for s in status:
                    if s["state"] == "NOT ACTIVATED":
                        assert s["certificate_sha256"] is None
            pub = {s["service"]: s for s in r.supervisor.status("cucm-pub")}
            assert pub["Cisco XCP Router"]["state"] == "NOT ACTIVATED"
            assert pub["Cisco Certificate Authority Proxy Function"]["state"] == "STARTED"
            assert 8443 in pub[TOMCAT]["ports"]
            sub = {s["service"]: s for s in r.supervisor.status("cucm-sub1")}
            assert sub["Cisco Certificate Authority Proxy Function"]["state"] == "NOT ACTIVATED"
            imp = {s["service"]: s for s in r.supervisor.status("imp-pub")}
            assert imp["Cisco XCP Router"]["state"] == "STARTED"
            assert imp["Cisco CallManager"]["state"] == "NOT ACTIVATED"
            assert await refused(addr["imp-pub"], 5061)

    run(body)


# ------------------------------------------------------------------ restarts


def test_a_new_tomcat_certificate_is_served_only_after_a_restart(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster
    pub = addr["cucm-pub"]

    async def body() -> None:
        async with running(svc, start_phones=False) as r:
            old = identity_sha(svc, "cucm-pub", "tomcat")
            assert await served_sha256(pub, 8443) == old
            # A self-signed regeneration: the store changes, the listener does not.
            svc.certificates.regenerate("cucm-pub", "tomcat")
            regenerated = identity_sha(svc, "cucm-pub", "tomcat")
            assert regenerated != old
            assert await served_sha256(pub, 8443) == old
            assert state(r.supervisor.status("cucm-pub"), TOMCAT)["certificate_sha256"] == old
            events = await r.events("restart", "cucm-pub", TOMCAT)
            assert events == [f"{TOMCAT}[STOPPING]", f"{TOMCAT}[STOPPED]",
                              f"{TOMCAT}[STARTING]", f"{TOMCAT}[STARTED]"]
            assert await served_sha256(pub, 8443) == regenerated
            status = state(r.supervisor.status("cucm-pub"), TOMCAT)
            assert (status["state"], status["certificate_sha256"]) == ("STARTED", regenerated)

            # The seed's procedure: CSR, CA signs, root and intermediate trusted, upload.
            csr = svc.csrs.generate("cucm-pub", "tomcat", CsrOptions())
            bundle = sign(csr.pem)
            svc.certificates.upload("cucm-pub", "tomcat-trust", pem(lab_ca().root), "root")
            svc.certificates.upload("cucm-pub", "tomcat-trust", pem(lab_ca().intermediate),
                                    "issuing")
            svc.certificates.upload("cucm-pub", "tomcat", pem(bundle.leaf))
            signed = cert_sha256(bundle.leaf)
            assert identity_sha(svc, "cucm-pub", "tomcat") == signed
            assert await served_sha256(pub, 8443) == regenerated
            await r.events("restart", "cucm-pub", TOMCAT)
            assert await served_sha256(pub, 8443) == signed
            # The intermediate goes out with it: a browser trusting only the root is happy.
            root_only = client_context(pem(lab_ca().root))
            der = await handshake(pub, 8443, root_only, server_hostname="cucm-pub.uc.example")
            assert der == bundle.leaf.public_bytes(Encoding.DER)
            # The other nodes were not touched.
            assert await served_sha256(addr["cucm-sub1"], 8443) == identity_sha(
                svc, "cucm-sub1", "tomcat")

    run(body)


def test_stop_closes_the_ports_and_start_opens_them_again(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster
    sub = addr["cucm-sub1"]

    async def body() -> None:
        async with running(svc, start_phones=False) as r:
            ports = state(r.supervisor.status("cucm-sub1"), TOMCAT)["ports"]
            assert 8443 in ports
            assert await r.events("stop", "cucm-sub1", TOMCAT) == [
                f"{TOMCAT}[STOPPING]", f"{TOMCAT}[STOPPED]"]
            for port in ports:
                assert await refused(sub, port)
            status = state(r.supervisor.status("cucm-sub1"), TOMCAT)
            assert (status["state"], status["certificate_sha256"], status["ports"]) == (
                "STOPPED", None, [])
            # Stopping a stopped service changes nothing and says so.
            assert await r.events("stop", "cucm-sub1", TOMCAT) == [f"{TOMCAT}[STOPPED]"]
            assert await r.events("start", "cucm-sub1", TOMCAT) == [
                f"{TOMCAT}[STARTING]", f"{TOMCAT}[STARTED]"]
            assert await served_sha256(sub, 8443) == identity_sha(svc, "cucm-sub1", "tomcat")
            assert await r.events("start", "cucm-sub1", TOMCAT) == [f"{TOMCAT}[STARTED]"]
            # Other services of the node never stopped.
            assert await served_sha256(sub, 5061) == identity_sha(svc, "cucm-sub1",
                                                                  "CallManager")

    run(body)


def test_phones_unregister_while_their_callmanager_is_stopped_and_come_back(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, _ = cluster

    async def body() -> None:
        async with running(svc) as r:
            assert (await r.settled())["by_state"]["REGISTERED"] == 6
            await r.events("stop", "cucm-sub1", "Cisco CallManager")
            phones = r.fleet.status()
            assert phones["by_node"]["cucm-sub1"]["UNREGISTERED"] == 3
            assert phones["by_node"]["cucm-pub"]["REGISTERED"] == 3
            assert {p["reason"] for p in phones["phones"] if p["node"] == "cucm-sub1"} == {
                "CallManager cucm-sub1 stopped"}
            await r.events("start", "cucm-sub1", "Cisco CallManager")
            assert (await r.settled())["by_state"]["REGISTERED"] == 6

    run(body)


# ------------------------------------------------------------------ activation


def test_a_service_cannot_be_activated_where_its_role_does_not_run_it(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster

    async def body() -> None:
        async with running(svc, start_phones=False) as r:
            for node, name in (("cucm-pub", "Cisco XCP Router"),
                               ("cucm-sub1", "Cisco Certificate Authority Proxy Function"),
                               ("imp-pub", "Cisco CallManager")):
                with pytest.raises(Refused) as err:
                    await r.events("activate", node, name)
                assert err.value.code == "service-not-for-role"
                assert state(r.supervisor.status(node), name)["state"] == "NOT ACTIVATED"
                with pytest.raises(Refused) as err:
                    await r.events("restart", node, name)
                assert err.value.code == "service-not-activated"
            assert await refused(addr["cucm-pub"], 5222)
        assert "Cisco XCP Router" not in activated(svc, "cucm-pub")

    run(body)


def test_deactivation_stops_the_service_and_outlives_serve(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster
    sub = addr["cucm-sub1"]

    async def body() -> None:
        async with running(svc, start_phones=False) as r:
            assert await served_sha256(sub, 2749)
            assert await r.events("deactivate", "cucm-sub1", CTI) == [
                f"{CTI}[STOPPING]", f"{CTI}[STOPPED]", f"{CTI}[NOT ACTIVATED]"]
            assert await refused(sub, 2749)
            assert state(r.supervisor.status("cucm-sub1"), CTI)["state"] == "NOT ACTIVATED"
        assert CTI not in activated(svc, "cucm-sub1")
        assert CTI in activated(svc, "cucm-pub")
        # serve again, from the store: still NOT ACTIVATED, nothing listens.
        async with running(svc, start_phones=False) as r:
            assert state(r.supervisor.status("cucm-sub1"), CTI)["state"] == "NOT ACTIVATED"
            assert await refused(sub, 2749)
            assert state(r.supervisor.status("cucm-pub"), CTI)["state"] == "STARTED"
            assert await r.events("activate", "cucm-sub1", CTI) == [
                f"{CTI}[STARTING]", f"{CTI}[STARTED]"]
            assert await served_sha256(sub, 2749) == identity_sha(svc, "cucm-sub1",
                                                                  "CallManager")
        assert CTI in activated(svc, "cucm-sub1")

    run(body)


# ------------------------------------------------------------------ serve again


def test_after_a_crash_services_come_back_with_what_they_had_loaded(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster
    pub = addr["cucm-pub"]

    async def body() -> None:
        old = identity_sha(svc, "cucm-pub", "tomcat")
        async with running(svc) as r:
            assert (await r.settled())["by_state"]["REGISTERED"] == 6
            await r.events("stop", "cucm-pub", CTI)
            svc.certificates.regenerate("cucm-pub", "tomcat")
            # The crash: nothing more is saved, the process is gone.
        new = identity_sha(svc, "cucm-pub", "tomcat")
        assert new != old
        saved = await bounded(asyncio.to_thread(r.hooks.saved_loads))
        async with running(svc, saved=saved) as again:
            assert await served_sha256(pub, 8443) == old
            status = {s["service"]: s for s in again.supervisor.status("cucm-pub")}
            assert status[TOMCAT]["certificate_sha256"] == old
            assert status[CTI]["state"] == "STOPPED"  # stopped stays stopped
            assert await refused(pub, 2749)
            # Phones come back with the lists they had accepted.
            assert (await again.settled())["by_state"]["REGISTERED"] == 6
            await again.events("restart", "cucm-pub", TOMCAT)
            assert await served_sha256(pub, 8443) == new

    run(body)


# ------------------------------------------------------------------ TFTP and TVS


async def get(address: str, path: str) -> tuple[int, bytes]:
    return await bounded(wire.http_get(address, 6970, path, timeout=TIMEOUT_S))


def test_tftp_serves_the_signed_itl_and_configs_and_nothing_else(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster
    with svc.ctx.read() as uow:
        ids = {(i.node, i.purpose): i.certificate for i in uow.identities.list("lab")}
    expected = {(TrustRole.CCM_TFTP, "cucm-pub"), (TrustRole.CCM_TFTP, "cucm-sub1"),
                (TrustRole.TVS, "cucm-pub"), (TrustRole.TVS, "cucm-sub1"),
                (TrustRole.CAPF, "cucm-pub")}
    purpose_of = {TrustRole.CCM_TFTP: "CallManager", TrustRole.TVS: "TVS",
                  TrustRole.CAPF: "CAPF"}

    async def body() -> None:
        async with running(svc, start_phones=False):
            for node in ("cucm-pub", "cucm-sub1"):
                status, raw = await get(addr[node], "/ITLFile.tlv")
                assert status == 200
                itl = read_trust_list(raw, "ITL")  # verifies the signature
                assert itl.signer == ids[(node, "CallManager")]
                assert {(rec.role, rec.node) for rec in itl.records} == expected
                for rec in itl.records:
                    assert rec.certificate == ids[(rec.node, purpose_of[rec.role])]
                # Non-secure mode: no CTL.
                assert (await get(addr[node], "/CTLFile.tlv"))[0] == 404
                assert (await get(addr[node], "/SEP0123456789AB.cnf.xml.sgn"))[0] == 404
                assert (await get(addr[node], "/etc/passwd"))[0] == 404
            assert await refused(addr["imp-pub"], 6970)  # IM and Presence runs no TFTP
            with svc.ctx.read() as uow:  # the phones exist once serve made them
                phone = next(p for p in uow.phones.list("lab") if p.cm_node == "cucm-sub1")
            status, raw = await get(addr[phone.tftp_node],
                                    f"/sep{phone.mac.lower()}.cnf.xml.sgn")
            assert status == 200
            config = read_config(raw)
            assert config.mac == phone.mac
            assert config.callmanager == ("cucm-sub1", addr["cucm-sub1"], 5061)
            assert config.tvs == ("cucm-sub1", addr["cucm-sub1"], 2445)
            assert config.signer == ids[(phone.tftp_node, "CallManager")]
            # Only GET (and HEAD): anything else is refused, and the service goes on.
            reader, writer = await bounded(asyncio.open_connection(addr["cucm-pub"], 6970))
            writer.write(b"PUT /ITLFile.tlv HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await bounded(reader.read())).startswith(b"HTTP/1.1 405 ")
            writer.close()
            assert (await get(addr["cucm-pub"], "/ITLFile.tlv"))[0] == 200

    run(body)


def test_tvs_vouches_for_the_cluster_certificates_it_loaded(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster
    pub = addr["cucm-pub"]
    ctx = pinning_client_context()

    async def ask(sha: str) -> bool:
        tvs_sha = identity_sha(svc, "cucm-pub", "TVS")
        return await bounded(tvs.ask(pub, 2445, ctx, sha,
                                     lambda der: hashlib.sha256(der).hexdigest() == tvs_sha))

    async def body() -> None:
        async with running(svc, start_phones=False) as r:
            assert await served_sha256(pub, 2445) == identity_sha(svc, "cucm-pub", "TVS")
            for node, purpose in (("cucm-sub1", "CallManager"), ("cucm-pub", "tomcat"),
                                  ("imp-pub", "cup-xmpp")):
                assert await ask(identity_sha(svc, node, purpose)) is True
            assert await ask(os.urandom(32).hex()) is False
            # A certificate made after TVS started is unknown until TVS restarts.
            svc.certificates.regenerate("cucm-sub1", "tomcat")
            fresh = identity_sha(svc, "cucm-sub1", "tomcat")
            assert await ask(fresh) is False
            await r.events("restart", "cucm-pub", TVS)
            assert await ask(fresh) is True

    run(body)


def test_phones_keep_the_itl_they_accepted_in_the_store(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster

    async def body() -> None:
        async with running(svc) as r:
            assert (await r.settled())["by_state"]["REGISTERED"] == 6
            with svc.ctx.read() as uow:
                records = uow.phones.list("lab")
                files = {p.mac: uow.phones.file(p.itl_sha256) if p.itl_sha256 else None
                         for p in records}
            assert len(records) == 6
            for phone in records:
                assert phone.itl_sha256 is not None
                assert phone.ctl_sha256 is None  # non-secure mode
                status, served = await get(addr[phone.tftp_node], f"/ITLSEP{phone.mac}.tlv")
                assert status == 200
                assert files[phone.mac] == served
                assert hashlib.sha256(served).hexdigest() == phone.itl_sha256

    run(body)


# ------------------------------------------------------------------ the seed's warning


def test_callmanager_alone_re_registers_but_with_tvs_too_the_phones_break(
        cluster: tuple[Services, dict[str, str]]) -> None:
    """domain.md §9: CallManager alone, then restarts and a reset: phones ask TVS and
    re-register. CallManager and TVS together: the phones cannot trust the new ITL
    (ITL mismatch) until their ITL is deleted."""
    svc, _ = cluster
    restart_order = (TVS, TFTP, "Cisco CallManager", CTI)

    async def restart_all(r: Any) -> None:
        for name in restart_order:
            await r.events("restart", "cucm-sub1", name)

    async def body() -> None:
        async with running(svc) as r:
            assert (await r.settled())["by_state"]["REGISTERED"] == 6
            svc.certificates.regenerate("cucm-sub1", "CallManager")
            await restart_all(r)
            r.fleet.reset()
            assert (await r.settled())["by_state"]["REGISTERED"] == 6

            svc.certificates.regenerate("cucm-sub1", "CallManager")
            svc.certificates.regenerate("cucm-sub1", "TVS")
            await restart_all(r)
            r.fleet.reset()
            phones = await r.settled()
            broken = [p for p in phones["phones"] if p["node"] == "cucm-sub1"]
            assert {(p["state"], p["reason"]) for p in broken} == {("REJECTED", "ITL mismatch")}
            assert phones["by_node"]["cucm-pub"]["REGISTERED"] == 3

            await bounded(r.fleet.delete_itl(r.fleet.select([p["mac"] for p in broken])))
            assert (await r.settled())["by_state"]["REGISTERED"] == 6

    run(body)


# ------------------------------------------------------------------ through the socket


def test_the_control_socket_drives_the_running_cluster(
        cluster: tuple[Services, dict[str, str]], tmp_path: Path) -> None:
    """What `uccerts service …` and `uccerts phones …` do against a running serve."""
    svc, _ = cluster
    client = Blocking(SocketControl(tmp_path), Who("alice", "cli"))

    def cli() -> dict[str, Any]:
        seen: dict[str, Any] = {"list": [r.to_dict() for r in client.run(
            lambda c, who: c.service_status(who, "cucm-pub"))]}
        events: list[str] = []
        restarted = client.run(lambda c, who: c.service(
            who, ServiceAction.RESTART, "cucm-pub", TOMCAT, on_event=events.append))
        seen["restart"] = restarted.to_dict()
        seen["events"] = events
        assert restarted.events == tuple(events)  # streamed, and in the result
        with pytest.raises(Refused) as err:
            client.run(lambda c, who: c.service(who, ServiceAction.ACTIVATE, "cucm-pub",
                                                "Cisco XCP Router"))
        seen["refused"] = err.value
        seen["phones"] = client.run(
            lambda c, who: c.reset_phones(who, wait=TIMEOUT_S)).to_dict()
        return seen

    async def body() -> dict[str, Any]:
        async with running(svc) as r:
            local = LocalControl(r.supervisor, r.fleet, r.hooks, r.db)
            server = ControlServer(tmp_path / SOCKET_NAME, dispatcher(local))
            await bounded(server.start())
            try:
                svc.certificates.regenerate("cucm-pub", "tomcat")
                return await bounded(asyncio.to_thread(cli), 40)
            finally:
                await bounded(server.stop())

    seen = asyncio.run(bounded(body(), 60))
    tomcat = state(seen["list"], TOMCAT)
    assert tomcat["state"] == "STARTED"
    assert tomcat["certificate_sha256"] != identity_sha(svc, "cucm-pub", "tomcat")
    assert seen["events"] == [f"{TOMCAT}[STOPPING]", f"{TOMCAT}[STOPPED]",
                              f"{TOMCAT}[STARTING]", f"{TOMCAT}[STARTED]"]
    assert seen["restart"]["certificate_sha256"] == identity_sha(svc, "cucm-pub", "tomcat")
    assert seen["refused"].code == "service-not-for-role"
    phones = seen["phones"]
    assert (phones["reset"], phones["settled"]) == (6, True)
    assert phones["status"]["by_state"]["REGISTERED"] == 6
    audit = [(e.actor, e.source, e.action, e.outcome, e.node)
             for e in svc.audit.entries() if e.action.startswith(("service", "phones"))]
    assert ("alice", "cli", "service restart", "ok", "cucm-pub") in audit
    assert ("alice", "cli", "service activate", "refused", "cucm-pub") in audit
    assert ("alice", "cli", "phones reset", "ok", "") in audit


# ------------------------------------------------------------------ tomcat-ECDSA


def _openssl_served_sha256(address: str, port: int, *extra: str) -> str:
    out = subprocess.run(["openssl", "s_client", "-connect", f"{address}:{port}", *extra],
                         input=b"", capture_output=True, timeout=20, check=False).stdout
    cert = x509.load_pem_x509_certificate(out)  # the first PEM block: the server's
    return cert_sha256(cert)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tomcat_answers_ecdsa_only_clients_with_tomcat_ecdsa(
        cluster: tuple[Services, dict[str, str]]) -> None:
    svc, addr = cluster
    pub = addr["cucm-pub"]
    ecdsa_only = ("-sigalgs", "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512")

    async def body() -> None:
        async with running(svc, start_phones=False):
            rsa, ec = (identity_sha(svc, "cucm-pub", p) for p in ("tomcat", "tomcat-ECDSA"))
            for port in (443, 8443):
                assert await served_sha256(pub, port) == rsa  # a default client
                for version in ("-tls1_3", "-tls1_2"):
                    assert await asyncio.to_thread(
                        _openssl_served_sha256, pub, port, version, *ecdsa_only) == ec
                    assert await asyncio.to_thread(
                        _openssl_served_sha256, pub, port, version) == rsa

    run(body)
