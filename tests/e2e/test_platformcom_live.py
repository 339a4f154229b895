"""The compatible certmgr API over real HTTPS, served by a live node's Cisco Tomcat on
443 (which existing clients hard-code) and on 8443, as a script would drive it:
generate a CSR, have it signed, upload the chain, restart Cisco Tomcat and see the new
certificate served, on the very listener that answers the API."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from clusters import sign
from live import LiveCluster, served_sha256
from uccerts.api.platformcom import COMPAT_BASE

NODE, FQDN, TOMCAT = "cucm-pub", "cucm-pub.uc.example", "Cisco Tomcat"
USER, PASSWORD = "scripts", "compat-live-password"


def _tomcat_ports(live: LiveCluster) -> list[int]:
    node = next(n for n in live.ready["nodes"] if n["node"] == NODE)
    ports: list[int] = next(s["ports"] for s in node["services"] if s["service"] == TOMCAT)
    return ports


@pytest.mark.parametrize("port", [443, 8443])
def test_compatible_api_over_https(live: LiveCluster, port: int) -> None:
    if port not in _tomcat_ports(live):
        pytest.skip(f"port {port} could not be bound here (binding below 1024 needs root or "
                    "CAP_NET_BIND_SERVICE); serve skipped it with a warning")
    added = live.uccerts("admin", "add", USER, "--role", "read-write", "--password-stdin",
                         stdin=f"{PASSWORD}\n".encode())
    assert added.code == 0, added.err
    address = live.addresses[NODE]
    base = f"https://{address}:{port}{COMPAT_BASE}"
    headers = {"Accept": "*/*", "Content-Type": "application/json"}
    with httpx.Client(verify=False, timeout=30, headers=headers) as http:
        denied = http.get(f"{base}/snapshot/server")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"] == 'Basic realm="CMPlatform Realm"'
        assert denied.json()["messages"]

        auth = (USER, PASSWORD)
        snapshot = http.get(f"{base}/snapshot/server", auth=auth).json()
        assert snapshot["server"] == NODE and snapshot["revokedCertificates"] == []

        made = http.post(f"{base}/csr", auth=auth, json={
            "service": "tomcat", "distribution": "this-server", "commonName": FQDN})
        assert made.status_code == 200, made.text
        csr_pem = made.json()["csr"]
        assert http.get(f"{base}/csr", params={"service": "tomcat"},
                        auth=auth).json() == {"csr": csr_pem}

        bundle = sign(csr_pem)
        chain = [c.public_bytes(Encoding.PEM).decode() for c in bundle.chain]
        uploaded = http.post(f"{base}/identity/certificates", auth=auth,
                             json={"service": "tomcat", "certificates": chain})
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["restart"] == [{"node": NODE, "service": TOMCAT}]
        shown = http.get(f"{base}/identity/certificate", params={"service": "tomcat"},
                         auth=auth).json()
        assert shown["certificate"] == chain[0]

    # Served only once Cisco Tomcat restarts; then on both of its ports.
    leaf_sha = hashlib.sha256(bundle.leaf.public_bytes(Encoding.DER)).hexdigest()
    assert served_sha256(address, port) != leaf_sha
    restarted = live.uccerts("service", "restart", NODE, TOMCAT)
    assert restarted.code == 0, restarted.err
    for bound in _tomcat_ports(live):
        assert served_sha256(address, bound) == leaf_sha
    with httpx.Client(verify=False, timeout=30) as http:
        after = http.get(f"{base}/identity/certificate?service=TOMCAT", auth=(USER, PASSWORD))
        assert after.status_code == 200
        assert x509.load_pem_x509_certificate(after.json()["certificate"].encode()) == (
            bundle.leaf)
