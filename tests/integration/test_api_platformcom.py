"""The appliance-compatible certmgr API (domain.md §13), driven with plain HTTP calls
shaped exactly like the published clients' (a Python ``requests`` script: ``json=``
with ``Accept: */*``; a Node ``https.request`` tool: a JSON string with
``Content-Length`` and ``Accept: application/json``, PEMs split on the END line),
checked field by field, on SQLite (and PostgreSQL when configured)."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import Mount, Route

from clusters import TOPOLOGY, KeyPool, lab_ca, now, sign
from pki import CA, DAY
from uccerts.api.platformcom import COMPAT_BASE
from uccerts.app import create_app
from uccerts.bootstrap import Services, build_from_uow
from uccerts.domain.codec import csr_pem
from uccerts.domain.names import sans_of
from uccerts.domain.purposes import TRUST_STORES, Role, purposes_for

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its test client with httpx2; httpx (the dev
    # dependency) still works, and this is the only place the deprecation is waved.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

NODE, FQDN = "cucm-pub", "cucm-pub.uc.example"
RW = ("api-admin", "compat-rw-password")
RO = ("api-reader", "compat-ro-password")
REALM = 'Basic realm="CMPlatform Realm"'
PY_HEADERS = {"Accept": "*/*", "Content-Type": "application/json"}
CA_NOT_TRUSTED = "CA certificate is not available in the trust-store"
SAN_MISMATCH = "CSR subject alternate name (SAN) and certificate SAN do not match"
# Each node's own tomcat certificate, in tomcat-trust of every node (issue 10 item 13).
OWN_FILES = {"cucm-pub.uc.example.pem", "cucm-sub1.uc.example.pem", "imp-pub.uc.example.pem"}
CANONICAL_PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/]{64}\n)*[A-Za-z0-9+/=]{1,64}\n"
    r"-----END CERTIFICATE-----\n")


@pytest.fixture
def svc(sql_store: Any) -> Iterator[Services]:
    services = build_from_uow(sql_store.uow, actor="tester", source="test", keygen=KeyPool(),
                              read=sql_store.reader)
    services.clusters.init(TOPOLOGY)
    services.accounts.add(RW[0], "read-write", RW[1])
    services.accounts.add(RO[0], "read-only", RO[1])
    yield services


@pytest.fixture
def client(svc: Services) -> TestClient:
    return TestClient(create_app(svc, NODE), base_url=f"https://{FQDN}")


# --- the clients' calls, as they make them ---------------------------------------------


def py_post(client: TestClient, path: str, body: object,
            auth: tuple[str, str] | None = RW) -> httpx.Response:
    """requests.post(url, headers=PY_HEADERS, json=body, verify=False, auth=(u, p))"""
    return client.post(COMPAT_BASE + path, json=body, headers=PY_HEADERS, auth=auth)


def node_post(client: TestClient, path: str, body: object,
              auth: tuple[str, str] = RW) -> httpx.Response:
    """https.request({method: 'POST', headers: {Content-Type, Authorization, Accept,
    Content-Length}}) with JSON.stringify(body) written."""
    data = json.dumps(body, separators=(",", ":")).encode()
    return client.post(COMPAT_BASE + path, content=data, auth=auth, headers={
        "Content-Type": "application/json", "Accept": "application/json",
        "Content-Length": str(len(data))})


def get(client: TestClient, path: str, auth: tuple[str, str] | None = RW) -> httpx.Response:
    return client.get(COMPAT_BASE + path, auth=auth, headers={"Accept": "application/json"})


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def refused(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "messages"}
    assert body["messages"] and body["message"] == body["messages"][0]
    assert all(isinstance(m, str) and m for m in body["messages"])
    return body


def node_split(bundle: str) -> list[str]:
    """What the Node tool does to a chain: split on END, trim, re-add END (no newline)."""
    return [part.strip() + "\n-----END CERTIFICATE-----"
            for part in bundle.split("-----END CERTIFICATE-----")
            if "-----BEGIN CERTIFICATE-----" in part]


def pem_of(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()


def new_csr(client: TestClient, **extra: object) -> x509.CertificateSigningRequest:
    body = {"service": "tomcat", "distribution": "this-server", "commonName": FQDN, **extra}
    return x509.load_pem_x509_csr(ok(py_post(client, "/csr", body))["csr"].encode())


def signed_chain(csr: x509.CertificateSigningRequest, **options: object) -> list[str]:
    bundle = sign(csr.public_bytes(Encoding.PEM), **options)
    return [pem_of(c) for c in bundle.chain]  # leaf, intermediate, root


def audit(svc: Services) -> list[tuple[str, str, str, str, str]]:
    return [(e.actor, e.source, e.action, e.outcome, e.purpose)
            for e in svc.audit.entries(1000) if e.source == "api"]


def trust_files(svc: Services, store: str = "tomcat-trust") -> dict[str, str]:
    """The store's files, without the nodes' own tomcat certificates."""
    return {v.filename: v.sha256 for v in svc.certificates.list(NODE, store, "trust")
            if v.filename not in OWN_FILES}


def stored(certificates: list[dict[str, str]]) -> list[dict[str, str]]:
    return [c for c in certificates if c["filename"] not in OWN_FILES]


def identity_sha(svc: Services, purpose: str = "tomcat") -> str:
    return svc.certificates.show(NODE, purpose).sha256


# --- GET /snapshot/server -------------------------------------------------------------


def test_snapshot_has_one_identity_per_purpose_and_every_trust_store(
        client: TestClient, svc: Services) -> None:
    body = ok(get(client, "/snapshot/server"))
    assert set(body) == {"server", "trackingId", "identities", "trusts",
                         "revokedCertificates"}
    assert body["server"] == NODE
    assert re.fullmatch(r"[0-9a-f]{32}", body["trackingId"])
    assert body["revokedCertificates"] == []
    assert [i["service"] for i in body["identities"]] == [
        p.name for p in purposes_for(Role.PUBLISHER)]
    for entry in body["identities"]:
        assert set(entry) == {"service", "certificate", "csr"}
        assert entry["csr"] is None
        assert CANONICAL_PEM.fullmatch(entry["certificate"])
        assert entry["certificate"] == svc.certificates.show(NODE, entry["service"]).pem
    assert [t["service"] for t in body["trusts"]] == [
        s.name for s in TRUST_STORES if Role.PUBLISHER in s.roles]
    assert all(set(t) == {"service", "certificate_data"} for t in body["trusts"])
    assert all(t["certificate_data"] == [] for t in body["trusts"]
               if t["service"] != "tomcat-trust")
    own = {c["filename"]: c["certificate"] for c in body["trusts"][0]["certificate_data"]}
    assert own == {f"{n}.uc.example.pem": svc.certificates.show(n, "tomcat").pem
                   for n in ("cucm-pub", "cucm-sub1", "imp-pub")}
    # A fresh id per response.
    assert ok(get(client, "/snapshot/server"))["trackingId"] != body["trackingId"]


def test_snapshot_shows_the_pending_csr_and_trust_files(client: TestClient) -> None:
    csr = new_csr(client)
    ca = lab_ca()
    ok(py_post(client, "/trust/certificates",
               {"service": ["tomcat"], "certificates": [pem_of(ca.root)]}))
    body = ok(get(client, "/snapshot/server"))
    tomcat = next(i for i in body["identities"] if i["service"] == "tomcat")
    assert tomcat["csr"] == csr.public_bytes(Encoding.PEM).decode()
    assert all(i["csr"] is None for i in body["identities"] if i["service"] != "tomcat")
    trust = next(t for t in body["trusts"] if t["service"] == "tomcat-trust")
    assert stored(trust["certificate_data"]) == [
        {"filename": "uccerts_Lab_Root_CA.pem", "certificate": pem_of(ca.root)}]


# --- GET /config/options, /snapshot/options, /identity/certificates -------------------


@pytest.mark.parametrize("path", ["/config/options", "/snapshot/options",
                                  "/config/options/", "/snapshot/options/"])
def test_options_say_what_the_node_offers(client: TestClient, path: str) -> None:
    # Tools pre-check these and expect 2xx JSON (they were 404).
    body = ok(get(client, path, auth=RO))
    assert body["server"] == NODE
    assert body["distributions"] == ["this-server", "multi-server"]
    assert body["keyTypes"] == {"rsa": {"keyLengths": [1024, 2048, 3072, 4096],
                                        "default": 2048},
                                "ec": {"keyLengths": [256, 384, 521], "default": 256}}
    assert body["hashAlgorithms"] == ["sha256", "sha384", "sha512"]
    services = {s["service"]: s for s in body["services"]}
    assert list(services) == [p.name for p in purposes_for(Role.PUBLISHER)]
    assert services["tomcat"] == {"service": "tomcat", "keyType": "rsa",
                                  "distributions": ["this-server", "multi-server"],
                                  "csr": True, "trustStore": "tomcat-trust"}
    assert services["ipsec"]["distributions"] == ["this-server"]
    assert services["ITLRecovery"]["csr"] is False
    assert body["trustStores"] == [s.name for s in TRUST_STORES if Role.PUBLISHER in s.roles]
    assert get(client, path, auth=None).status_code == 401


def test_get_identity_certificates_lists_the_service_identities(client: TestClient,
                                                                svc: Services) -> None:
    # GET on the upload route answered 405; it lists the service's identities here.
    body = ok(get(client, "/identity/certificates?service=tomcat", auth=RO))
    assert [c["service"] for c in body["certificates"]] == ["tomcat", "tomcat-ECDSA"]
    for entry in body["certificates"]:
        assert set(entry) == {"service", "filename", "certificate", "server"}
        assert entry["server"] == NODE
        assert entry["certificate"] == svc.certificates.show(NODE, entry["service"]).pem
    ecdsa = ok(get(client, "/identity/certificates/?service=TOMCAT-ECDSA"))
    assert [c["service"] for c in ecdsa["certificates"]] == ["tomcat-ECDSA"]
    every = ok(get(client, "/identity/certificates"))
    assert [c["service"] for c in every["certificates"]] == [
        p.name for p in purposes_for(Role.PUBLISHER)]
    assert refused(get(client, "/identity/certificates?service=nonsense"))["code"] == (
        "unknown-purpose")


# --- POST /csr, GET /csr ----------------------------------------------------------------


def test_python_client_csr_defaults_and_get_returns_the_same_pem(
        client: TestClient, svc: Services) -> None:
    # generate_uc_csr(): only service, distribution and commonName.
    response = py_post(client, "/csr", {"service": "tomcat", "distribution": "this-server",
                                         "commonName": FQDN})
    body = ok(response)
    assert set(body) == {"csr"}
    csr = x509.load_pem_x509_csr(body["csr"].encode())
    assert csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == FQDN
    assert sans_of(csr) == [FQDN]  # exactly commonName (+ no altNames)
    key = csr.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    assert ok(get(client, "/csr?service=tomcat")) == {"csr": body["csr"]}
    assert svc.csrs.pem(NODE, "tomcat") == body["csr"]
    assert audit(svc) == [(RW[0], "api", "csr generate", "ok", "tomcat")]


def test_node_client_csr_names_are_exactly_common_name_and_alt_names(
        client: TestClient) -> None:
    # prepareCSR(): every key, altNames from a comma-separated setting.
    alt = ["cucm.uc.example", "uc.example", "10.0.1.1"]
    body = ok(node_post(client, "/csr", {
        "service": "tomcat", "distribution": "this-server", "commonName": FQDN,
        "keyType": "rsa", "keyLength": 3072, "hashAlgorithm": "sha256", "altNames": alt}))
    csr = x509.load_pem_x509_csr(body["csr"].encode())
    assert sans_of(csr) == [FQDN, *alt]  # no parent domain or node names added
    key = csr.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072


def test_csr_names_stay_exact_with_web_security_alternate_names(
        client: TestClient, svc: Services) -> None:
    ws = svc.clusters.node(NODE).web_security
    svc.clusters.set_web_security(NODE, replace(ws, alternate_hostnames=("alt.uc.example",)))
    assert sans_of(new_csr(client, altNames=["cucm.uc.example"])) == [FQDN, "cucm.uc.example"]


def test_ec_key_type_makes_the_ecdsa_csr(client: TestClient, svc: Services) -> None:
    body = ok(py_post(client, "/csr", {"service": "tomcat", "commonName": FQDN,
                                        "keyType": "ec", "keyLength": 384,
                                        "hashAlgorithm": "sha384"}))
    csr = x509.load_pem_x509_csr(body["csr"].encode())
    key = csr.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size == 384
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA384)
    assert svc.csrs.pem(NODE, "tomcat-ECDSA") == body["csr"]
    assert ok(get(client, "/csr?service=tomcat-ecdsa"))["csr"] == body["csr"]
    assert refused(get(client, "/csr?service=tomcat"), 404)["code"] == "csr-not-found"
    # An EC default (256) needs no key length.
    key = new_csr(client, keyType="EC").public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size == 256


NODES = ("cucm-pub", "cucm-sub1", "imp-pub")


def _pending(svc: Services, purpose: str = "tomcat") -> dict[str, str]:
    return {c.node: csr_pem(c.csr) for c in svc.csrs.list() if c.purpose == purpose}


@pytest.mark.parametrize("posted_to", ["cucm-pub", "cucm-sub1"])
def test_multi_server_csr_names_every_covered_node_plus_alt_names(
        svc: Services, posted_to: str) -> None:
    # §13 as amended: multi-server SANs are every covered node's FQDN (§4) plus
    # altNames; the CSR is pending on the publisher and on each covered node, whichever
    # node it was posted to. (It named only commonName before.)
    client = TestClient(create_app(svc, posted_to), base_url=f"https://{posted_to}.uc.example")
    cn = "cucm-pub-ms.uc.example"
    body = ok(py_post(client, "/csr", {"service": "tomcat", "distribution": "multi-server",
                                        "commonName": cn,
                                        "altNames": ["cucm.uc.example"]}))
    csr = x509.load_pem_x509_csr(body["csr"].encode())
    assert csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == cn
    fqdns = [f"{n}.uc.example" for n in NODES]
    assert sorted(sans_of(csr)) == sorted([*fqdns, "cucm.uc.example"])
    assert _pending(svc) == dict.fromkeys(NODES, body["csr"])
    # CallManager covers the CUCM nodes only.
    cm = ok(py_post(client, "/csr", {"service": "callmanager",
                                      "distribution": "multi-server"}))["csr"]
    assert sorted(sans_of(x509.load_pem_x509_csr(cm.encode()))) == sorted(fqdns[:2])
    assert _pending(svc, "CallManager") == dict.fromkeys(NODES[:2], cm)


def test_this_server_csr_posted_to_a_subscriber_is_its_own(svc: Services) -> None:
    client = TestClient(create_app(svc, "cucm-sub1"), base_url="https://cucm-sub1.uc.example")
    ok(py_post(client, "/csr", {"service": "tomcat", "distribution": "multi-server"}))
    body = ok(py_post(client, "/csr", {"service": "tomcat", "distribution": "this-server",
                                        "commonName": "sub.uc.example",
                                        "altNames": ["alt.uc.example"]}))
    csr = x509.load_pem_x509_csr(body["csr"].encode())
    assert sans_of(csr) == ["sub.uc.example", "alt.uc.example"]  # exactly, nothing added
    pending = _pending(svc)
    assert pending["cucm-sub1"] == body["csr"]
    assert pending["cucm-pub"] != body["csr"]  # the others keep the multi-server CSR


def test_each_csr_call_replaces_the_pending_one(client: TestClient, svc: Services) -> None:
    first = new_csr(client)
    second = new_csr(client, unknownKey={"ignored": True}, certificate="tomcat")
    assert first.public_key() != second.public_key()
    assert ok(get(client, "/csr?service=tomcat"))["csr"] == second.public_bytes(
        Encoding.PEM).decode()
    # The certificate for the replaced CSR no longer fits.
    chain = signed_chain(first)
    body = refused(py_post(client, "/identity/certificates",
                           {"service": "tomcat", "certificates": chain}))
    assert body["messages"] == ["CSR public key and certificate public key do not match"]


@pytest.mark.parametrize(("body", "code"), [
    ({"service": "nonsense"}, "unknown-purpose"),
    ({"commonName": FQDN}, "missing-field"),
    ({"service": "tomcat", "keyLength": 1000}, "invalid-key-length"),
    ({"service": "tomcat", "keyLength": "big"}, "invalid-field"),
    # Unicode digits pass str.isdigit(): "²" made int() raise (a plain-text 500) and
    # "٣" was read as 3. Only ASCII digits are a number.
    ({"service": "tomcat", "keyLength": "²"}, "invalid-field"),
    ({"service": "tomcat", "keyLength": "٣"}, "invalid-field"),
    ({"service": "tomcat", "keyLength": "２０４８"}, "invalid-field"),
    ({"service": "tomcat", "keyLength": "-2048"}, "invalid-field"),
    ({"service": "tomcat", "keyLength": 2048.5}, "invalid-field"),
    ({"service": "tomcat", "keyType": "dsa"}, "invalid-key-type"),
    ({"service": "ipsec", "keyType": "ec"}, "invalid-key-type"),
    ({"service": "tomcat", "hashAlgorithm": "md5"}, "invalid-hash"),
    ({"service": "tomcat", "distribution": "everywhere"}, "invalid-distribution"),
    ({"service": "tomcat", "altNames": 5}, "invalid-field"),
    ({"service": "tomcat", "altNames": ["*.uc.example"]}, "wildcard-not-supported"),
    ({"service": "ipsec", "distribution": "multi-server"}, "multi-server-not-supported"),
    ({"service": "tomcat-trust"}, "not-an-identity"),
    ({"service": "ITLRecovery"}, "self-signed-only"),
])
def test_csr_refusals_are_400_with_a_message(client: TestClient, svc: Services,
                                             body: dict[str, object], code: str) -> None:
    assert refused(py_post(client, "/csr", body))["code"] == code
    assert svc.csrs.list(NODE) == []


# --- POST /identity/certificates ------------------------------------------------------


def test_leaf_intermediate_root_on_an_empty_trust_store(client: TestClient,
                                                        svc: Services) -> None:
    assert trust_files(svc) == {}
    leaf, intermediate, root = chain = signed_chain(new_csr(client))
    body = ok(node_post(client, "/identity/certificates",
                        {"service": "tomcat", "certificates": node_split("".join(chain))}))
    assert body == {
        "message": "Certificate upload operation successful", "service": "tomcat",
        "servers": [NODE],
        "trusts": [{"service": "tomcat-trust", "filename": f, "server": n}
                   for n in ("cucm-pub", "cucm-sub1", "imp-pub")
                   for f in ("uccerts_Lab_Root_CA.pem", "uccerts_Lab_Issuing_CA.pem")],
        "restart": [{"node": NODE, "service": "Cisco Tomcat"}],
        "warnings": []}
    assert ok(get(client, "/identity/certificate?service=tomcat")) == {
        "service": "tomcat", "filename": "tomcat.pem", "certificate": leaf}
    listed = ok(get(client, "/trust/certificate?service=tomcat"))["certificates"]
    assert sorted(c["certificate"] for c in stored(listed)) == sorted([root, intermediate])
    # The node's own entry is now the CA-signed certificate.
    assert next(c for c in listed if c["filename"] == f"{FQDN}.pem")["certificate"] == leaf
    # The pending CSR became the identity key.
    assert refused(get(client, "/csr?service=tomcat"), 404)["code"] == "csr-not-found"
    # One audit entry for the whole upload (the CAs came with it).
    assert audit(svc)[0] == (RW[0], "api", "certificate upload", "ok", "tomcat")
    assert len(audit(svc)) == 2


def test_an_unrelated_extra_root_is_ignored(client: TestClient, svc: Services) -> None:
    chain = signed_chain(new_csr(client))
    stranger = pem_of(CA.root("Unrelated Root").cert)
    ok(py_post(client, "/identity/certificates",
               {"service": "tomcat", "certificates": [*chain, stranger]}))
    assert set(trust_files(svc)) == {"uccerts_Lab_Root_CA.pem", "uccerts_Lab_Issuing_CA.pem"}
    assert svc.certificates.show(NODE, "tomcat").pem == chain[0]


def test_a_duplicate_root_already_trusted_is_fine(client: TestClient, svc: Services) -> None:
    leaf, intermediate, root = signed_chain(new_csr(client))
    ok(py_post(client, "/trust/certificates", {"service": ["tomcat"], "certificates": [root]}))
    ok(py_post(client, "/identity/certificates",
               {"service": "tomcat", "certificates": [leaf, intermediate, root, root]}))
    assert set(trust_files(svc)) == {"uccerts_Lab_Root_CA.pem", "uccerts_Lab_Issuing_CA.pem"}


def test_leaf_only_with_a_trusted_issuer(client: TestClient, svc: Services) -> None:
    leaf, intermediate, root = signed_chain(new_csr(client))
    # upload_uc_ca(): the CA chain first, then upload_uc_cert() with the leaf alone.
    ok(py_post(client, "/trust/certificates",
               {"service": ["tomcat"], "certificates": [intermediate + root],
                "description": "ZeroSSL Trust Certificate"}))
    ok(py_post(client, "/identity/certificates", {"service": "tomcat",
                                                  "certificates": [leaf]}))
    assert svc.certificates.show(NODE, "tomcat").pem == leaf


def test_leaf_only_untrusted_is_refused_with_the_appliance_message(
        client: TestClient, svc: Services) -> None:
    before = identity_sha(svc)
    leaf = signed_chain(new_csr(client))[0]
    body = refused(py_post(client, "/identity/certificates",
                           {"service": "tomcat", "certificates": [leaf]}))
    assert body["code"] == "ca-not-in-trust-store"
    assert body["messages"] == [CA_NOT_TRUSTED]
    assert identity_sha(svc) == before and trust_files(svc) == {}
    assert audit(svc)[0] == (RW[0], "api", "certificate upload", "refused", "tomcat")


def test_san_mismatch_is_refused_and_every_finding_is_listed(client: TestClient,
                                                             svc: Services) -> None:
    csr = new_csr(client)
    chain = signed_chain(csr, add_sans=("extra.uc.example",))
    body = refused(py_post(client, "/identity/certificates",
                           {"service": "tomcat", "certificates": chain}))
    assert body["messages"] == [SAN_MISMATCH]
    # The leaf alone as well: two findings, in §5's order.
    body = refused(py_post(client, "/identity/certificates",
                           {"service": "tomcat", "certificates": chain[:1]}))
    assert body["messages"] == [SAN_MISMATCH, CA_NOT_TRUSTED]
    assert body["code"] == "csr-san-mismatch"


def test_upload_without_a_csr_names_the_appliance_file(client: TestClient) -> None:
    chain = signed_chain(new_csr(client))
    ok(py_post(client, "/identity/certificates", {"service": "tomcat", "certificates": chain}))
    body = refused(py_post(client, "/identity/certificates",
                           {"service": "tomcat", "certificates": chain}))
    assert body["messages"] == [
        "The file /usr/local/platform/.security/tomcat/keys/tomcat.csr does not exist"]


def test_service_as_a_one_element_list_works_on_every_route(client: TestClient,
                                                           svc: Services) -> None:
    # The clients send ["tomcat"] to trust upload; identity upload and /csr took only
    # the string form (a 400).
    csr = x509.load_pem_x509_csr(ok(py_post(client, "/csr", {
        "service": ["tomcat"], "commonName": FQDN, "keyLength": " 2048 "}))["csr"].encode())
    chain = signed_chain(csr)
    body = ok(py_post(client, "/identity/certificates",
                      {"service": ["tomcat"], "certificates": chain}))
    assert body["service"] == "tomcat"
    assert svc.certificates.show(NODE, "tomcat").pem == chain[0]
    assert refused(py_post(client, "/identity/certificates", {
        "service": ["tomcat", "CallManager"], "certificates": chain}))["code"] == (
        "invalid-field")


def test_an_ec_certificate_for_service_tomcat_goes_to_tomcat_ecdsa(
        client: TestClient, svc: Services) -> None:
    chain = signed_chain(new_csr(client, keyType="ec"))
    body = ok(py_post(client, "/identity/certificates",
                      {"service": "tomcat", "certificates": chain}))
    assert body["service"] == "tomcat-ECDSA"
    assert svc.certificates.show(NODE, "tomcat-ECDSA").pem == chain[0]


@pytest.mark.parametrize(("body", "code"), [
    ({"service": "tomcat", "certificates": ["not a certificate"]}, "invalid-certificate-file"),
    ({"service": "tomcat", "certificates": []}, "missing-field"),
    ({"service": "tomcat", "certificates": [1, 2]}, "invalid-field"),
    ({"certificates": ["x"]}, "missing-field"),
    ({"service": "tomcat-trust", "certificates": ["x"]}, "not-an-identity"),
])
def test_identity_upload_refusals(client: TestClient, body: dict[str, object],
                                  code: str) -> None:
    assert refused(py_post(client, "/identity/certificates", body))["code"] == code


def test_unreadable_files_are_audited_as_refusals(client: TestClient, svc: Services) -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    refused(py_post(client, "/identity/certificates",
                    {"service": "tomcat", "certificates": [key]}))
    refused(py_post(client, "/trust/certificates",
                    {"service": ["tomcat"], "certificates": ["cucm-pub\n"]}))
    refused(py_post(client, "/trust/certificates",
                    {"service": ["tomcat", "CallManager"], "certificates": ["cucm-pub\n"]}))
    assert audit(svc) == [
        (RW[0], "api", "trust upload", "refused", "tomcat-trust"),
        (RW[0], "api", "trust upload", "refused", "tomcat-trust"),
        (RW[0], "api", "certificate upload", "refused", "tomcat")]


# --- POST /trust/certificates, GET /trust/certificate ---------------------------------


def test_trust_upload_service_list_or_string_multi_pem_and_reupload(
        client: TestClient, svc: Services) -> None:
    ca = lab_ca()
    root, intermediate = pem_of(ca.root), pem_of(ca.intermediate)
    body = ok(py_post(client, "/trust/certificates", {
        "service": ["tomcat"], "certificates": [root + intermediate],
        "description": "Trust Certificate"}))
    assert body["message"] == "Trust certificate upload operation successful"
    assert {(c["service"], c["filename"]) for c in body["certificates"]
            if c["server"] == NODE} == {("tomcat-trust", "uccerts_Lab_Root_CA.pem"),
                                        ("tomcat-trust", "uccerts_Lab_Issuing_CA.pem")}
    # Again, the service as a plain upper-case string: the same certificates, 200.
    again = ok(node_post(client, "/trust/certificates", {
        "service": "TOMCAT", "certificates": node_split(root + intermediate)}))
    assert again["certificates"] == []
    listed = ok(get(client, "/trust/certificate?service=tomcat"))
    assert set(listed) == {"certificates"}
    assert sorted(stored(listed["certificates"]), key=lambda c: c["filename"]) == [
        {"certificate": intermediate, "filename": "uccerts_Lab_Issuing_CA.pem",
         "service": "tomcat-trust"},
        {"certificate": root, "filename": "uccerts_Lab_Root_CA.pem",
         "service": "tomcat-trust"}]
    assert [e[2:] for e in audit(svc)] == [("trust upload", "ok", "tomcat-trust")] * 2


def test_trust_pem_comes_back_canonical(client: TestClient) -> None:
    root = pem_of(CA.root("Odd Root").cert)
    b64 = "".join(root.splitlines()[1:-1])
    odd = ("-----BEGIN CERTIFICATE-----\r\n"
           + "\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
           + "\r\n-----END CERTIFICATE-----")
    ok(py_post(client, "/trust/certificates", {"service": "tomcat", "certificates": [odd]}))
    listed = stored(ok(get(client, "/trust/certificate?service=tomcat"))["certificates"])
    assert [c["certificate"] for c in listed] == [root]
    assert CANONICAL_PEM.fullmatch(listed[0]["certificate"])
    # What the Node tool compares to decide what is already there: equal after trim().
    assert listed[0]["certificate"].strip() == node_split(root)[0]


def test_trust_upload_to_several_services(client: TestClient, svc: Services) -> None:
    root = pem_of(CA.root("Phones Root").cert)
    ok(py_post(client, "/trust/certificates",
               {"service": ["tomcat", "CallManager", "callmanager"], "certificates": [root]}))
    assert set(trust_files(svc)) == set(trust_files(svc, "CallManager-trust")) == {
        "Phones_Root.pem"}


def test_trust_upload_refusals(client: TestClient, svc: Services) -> None:
    expired = pem_of(CA.root("Old Root", not_before=now() - 20 * DAY,
                             not_after=now() - 10 * DAY).cert)
    root = pem_of(CA.root("Good Root").cert)
    cases: list[tuple[dict[str, object], str]] = [
        ({"service": ["nonsense"], "certificates": [root]}, "unknown-service"),
        ({"service": ["ITLRecovery"], "certificates": [root]}, "no-trust-store"),
        ({"service": [], "certificates": [root]}, "missing-field"),
        ({"service": ["tomcat"], "certificates": "not a pem"}, "invalid-certificate-file"),
        ({"service": ["tomcat"], "certificates": [{"pem": root}]}, "invalid-field"),
    ]
    for body, code in cases:
        assert refused(py_post(client, "/trust/certificates", body))["code"] == code
    got = py_post(client, "/trust/certificates", {"service": "tomcat", "certificates": [expired]})
    assert refused(got)["messages"] == ["Certificate has expired and cannot be uploaded"]
    assert "Good_Root.pem" not in trust_files(svc)


# --- authentication, roles, routing, limits -------------------------------------------


def compat_routes(svc: Services) -> list[tuple[str, str]]:
    app = create_app(svc, NODE)
    console = app.app  # type: ignore[attr-defined]  # BodyLimit(console)
    mount = next(r for r in console.routes if isinstance(r, Mount) and r.path == COMPAT_BASE)
    found = [(method, r.path) for r in mount.routes if isinstance(r, Route)
             for method in sorted(r.methods or ()) if method != "HEAD"]
    assert len(found) == 20  # ten routes, each with and without the trailing slash
    return found


def test_every_route_wants_basic_auth_with_the_realm(client: TestClient,
                                                     svc: Services) -> None:
    routes = [*compat_routes(svc), ("GET", "/no/such/route"), ("DELETE", "/csr")]
    # Wrong passwords on a few (five in a row lock the name out: 429, tested elsewhere).
    tries = [(m, p, None) for m, p in routes] + [
        ("GET", "/snapshot/server", (RW[0], "wrong-password")),
        ("POST", "/csr", ("nobody", "whatever")),
        ("GET", "/csr", (RW[0], "")),
    ]
    for method, path, auth in tries:
        response = client.request(method, COMPAT_BASE + path + "?service=tomcat",
                                  json={"service": "tomcat"}, auth=auth)
        body = refused(response, 401)
        assert response.headers["www-authenticate"] == REALM, (method, path)
        assert body["code"] == ("unauthenticated" if auth is None else "bad-credentials")
    assert svc.csrs.list(NODE) == []


def test_repeated_wrong_passwords_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        refused(get(client, "/snapshot/server", auth=(RW[0], "wrong-password")), 401)
    response = get(client, "/snapshot/server", auth=RW)
    assert refused(response, 429)["code"] == "too-many-failures"
    assert int(response.headers["retry-after"]) > 0


def test_read_only_accounts_may_read_but_not_write(client: TestClient, svc: Services) -> None:
    for method, path in compat_routes(svc):
        response = client.request(method, COMPAT_BASE + path + "?service=tomcat",
                                  json={"service": "tomcat"}, auth=RO)
        if method == "POST":
            assert refused(response, 403)["code"] == "read-only", path
        else:
            assert response.status_code in (200, 404), (path, response.text)
            assert response.headers["content-type"].startswith("application/json")
    assert ok(get(client, "/snapshot/server", auth=RO))["server"] == NODE
    assert svc.csrs.list(NODE) == []


def test_trailing_slashes_and_service_case(client: TestClient) -> None:
    pem = ok(py_post(client, "/csr/", {"service": "TOMCAT", "commonName": FQDN}))["csr"]
    assert ok(get(client, "/csr/?service=Tomcat"))["csr"] == pem
    assert ok(get(client, "/identity/certificate/?service=TOMCAT"))["service"] == "tomcat"
    assert stored(ok(get(client, "/trust/certificate/?service=TomCat"))["certificates"]) == []
    assert ok(get(client, "/snapshot/server/"))["server"] == NODE


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    assert refused(get(client, "/no/such/route"), 404)["code"] == "not-found"
    assert refused(client.delete(COMPAT_BASE + "/csr", auth=RW), 405)["code"] == "http"
    assert refused(get(client, "/csr"))["code"] == "missing-field"
    assert refused(get(client, "/identity/certificate?service=nonsense"))["code"] == (
        "unknown-purpose")


@pytest.mark.parametrize("path", ["/csr", "/identity/certificates", "/trust/certificates"])
@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"tomcat"', b"\xff\xfe{",
                                 b"[" * 100_000, b'{"service": "tomcat"'])
def test_malformed_json_is_400_never_500(client: TestClient, path: str, raw: bytes) -> None:
    response = client.post(COMPAT_BASE + path, content=raw, auth=RW,
                           headers={"Content-Type": "application/json"})
    assert refused(response)["code"] == "malformed-json"


def test_even_a_bug_answers_json(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # Clients parse every answer; a 500 was plain text.
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug with internals")

    monkeypatch.setattr(type(svc.csrs), "pem", broken)
    client = TestClient(create_app(svc, NODE), base_url=f"https://{FQDN}",
                        raise_server_exceptions=False)
    body = refused(get(client, "/csr?service=tomcat"), 500)
    assert body["code"] == "internal-error" and "internals" not in json.dumps(body)


def test_a_body_over_one_mib_is_413(client: TestClient) -> None:
    big = {"service": "tomcat", "certificates": ["A" * (1024 * 1024)]}
    response = py_post(client, "/trust/certificates", big)
    assert response.status_code == 413
    assert response.json()["messages"] == [response.json()["message"]]


def test_the_audit_names_the_api_user(client: TestClient, svc: Services) -> None:
    chain = signed_chain(new_csr(client))
    ok(py_post(client, "/trust/certificates", {"service": "tomcat", "certificates": chain[2:]}))
    ok(py_post(client, "/identity/certificates", {"service": "tomcat", "certificates": chain}))
    assert audit(svc) == [
        (RW[0], "api", "certificate upload", "ok", "tomcat"),
        (RW[0], "api", "trust upload", "ok", "tomcat-trust"),
        (RW[0], "api", "csr generate", "ok", "tomcat")]
