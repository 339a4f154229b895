"""A runbook's CSR signed by a CA outside uccerts, through the real CLI against a live
``serve``: (a) the manual CA — a root and an intermediate made and used with the
``openssl`` command line, the answer dropped into the folder under arbitrary names;
(b) ACME end to end against Debian's pebble, validating http-01 on the node."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from cli_runner import Result
from live import LiveCluster
from pebble import Pebble, require_binaries, run_pebble

PUB, DOMAIN = "cucm-pub", "uc.example"
OPENSSL_TIMEOUT_S = 60


def _openssl(*args: str | Path, cwd: Path) -> str:
    proc = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=OPENSSL_TIMEOUT_S, check=False)
    assert proc.returncode == 0, f"openssl {args}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def _served_certificate(address: str, port: int) -> x509.Certificate:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=10) as raw, \
            ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return x509.load_der_x509_certificate(der)


def _tail(log: Path) -> str:
    return "\n" + log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _make_outside_ca(ca: Path) -> None:
    """A root and an intermediate CA made with the openssl command line alone."""
    ca.mkdir()
    (ca / "ca.ext").write_text(
        "basicConstraints = critical, CA:TRUE, pathlen:0\n"
        "keyUsage = critical, keyCertSign, cRLSign\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
             "-keyout", "root.key", "-out", "root.pem",
             "-subj", "/O=Outside PKI/CN=Outside Root CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=ca)
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
             "-keyout", "issuing.key", "-out", "issuing.csr",
             "-subj", "/O=Outside PKI/CN=Outside Issuing CA", cwd=ca)
    _openssl("x509", "-req", "-in", "issuing.csr", "-CA", "root.pem", "-CAkey", "root.key",
             "-set_serial", "0x1001", "-days", "30", "-sha256", "-extfile", "ca.ext",
             "-out", "issuing.pem", cwd=ca)


def _san_line(ca: Path, csr: Path) -> str:
    """``subjectAltName = DNS:…, IP:…`` as the CSR asks, read by openssl from the CSR."""
    lines = _openssl("req", "-in", csr, "-noout", "-text", cwd=ca).splitlines()
    at = next(i for i, line in enumerate(lines) if "Subject Alternative Name" in line)
    names = [n.strip().replace("IP Address:", "IP:") for n in lines[at + 1].split(",")]
    assert names and all(n.startswith(("DNS:", "IP:")) for n in names), lines[at + 1]
    return "subjectAltName = " + ", ".join(names)


def test_manual_ca_signed_outside_uccerts_by_openssl(live: LiveCluster,
                                                     tmp_path: Path) -> None:
    ca, folder = tmp_path / "outside-ca", tmp_path / "exchange"
    _make_outside_ca(ca)
    before = live.served(PUB, 8443)

    started = live.uccerts("runbook", "run", "tomcat", "--ca", "manual", "--folder",
                           str(folder), "--nodes", PUB, "--yes", "--json")
    assert started.code == 0, started.out + started.err
    assert started.json["state"] == "waiting", started.json
    runbook_id = str(started.json["id"])
    csr_file = folder / f"{PUB}-tomcat.csr"
    assert [p.name for p in folder.iterdir()] == [csr_file.name]
    assert live.served(PUB, 8443) == before  # nothing installed while waiting

    # The outside CA signs, with exactly the CSR's names.
    (ca / "leaf.ext").write_text(
        _san_line(ca, csr_file) + "\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment, dataEncipherment\n"
        "extendedKeyUsage = serverAuth, clientAuth\n"
        "authorityKeyIdentifier = keyid\n")
    _openssl("x509", "-req", "-in", csr_file, "-CA", "issuing.pem", "-CAkey", "issuing.key",
             "-set_serial", "0x2002", "-days", "20", "-sha256", "-extfile", "leaf.ext",
             "-outform", "DER", "-out", folder / "certnew.cer", cwd=ca)
    shutil.copy(ca / "issuing.pem", folder / "Outside Issuing CA (base64).txt")
    _openssl("x509", "-in", "root.pem", "-outform", "DER", "-out", folder / "anchor.crt",
             cwd=ca)
    shutil.copy(ca / "root.pem", folder / "ROOT-copy.pem")  # the same root twice: harmless

    imported = live.uccerts("runbook", "import", runbook_id, str(folder), "--json")
    assert imported.code == 0, imported.out + imported.err
    assert imported.json["state"] == "done", imported.json
    assert all(s["state"] == "done" for s in imported.json["steps"])

    served = _served_certificate(live.addresses[PUB], 8443)
    assert live.served(PUB, 8443) != before
    issuing = x509.load_pem_x509_certificate((ca / "issuing.pem").read_bytes())
    assert served.issuer == issuing.subject
    served.verify_directly_issued_by(issuing)
    (tmp_path / "served.pem").write_bytes(served.public_bytes(Encoding.PEM))
    verified = _openssl("verify", "-CAfile", ca / "root.pem", "-untrusted",
                        ca / "issuing.pem", "-purpose", "sslserver", tmp_path / "served.pem",
                        cwd=ca)
    assert verified.strip().endswith(": OK")
    shown = live.uccerts("cert", "show", PUB, "tomcat", "--json").json
    assert shown["self_signed"] is False and shown["sha256"] == live.served(PUB, 8443)
    trust = live.uccerts("cert", "list", "--node", PUB, "--purpose", "tomcat-trust",
                         "--json")
    assert trust.code == 0, trust.err
    assert "Outside Root CA" in trust.out and "Outside Issuing CA" in trust.out
    assert live.uccerts("csr", "list", "--json").json == []



def _fetch(url: str, ca_bundle: Path) -> bytes:
    """A PEM from pebble's management interface on loopback (no proxies)."""
    context = ssl.create_default_context(cafile=str(ca_bundle))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=10) as response:
        data: bytes = response.read()
    return data


def _acme_run(live: LiveCluster, server: Pebble, *extra: str) -> Result:
    # pebble's validator resolves the CSR's names (the node FQDN and the parent domain)
    # through pebble-challtestsrv to the node's address, where the runbook answers
    # http-01 on pebble's http-01 port.
    for name in (f"{PUB}.{DOMAIN}", DOMAIN):
        server.add_a(name, live.addresses[PUB])
    return live.uccerts("runbook", "run", "tomcat", "--ca", "acme", "--nodes", PUB,
                        "--acme-directory", server.directory,
                        "--acme-ca-bundle", str(server.ca_bundle),
                        "--acme-http-port", str(server.http01_port), *extra,
                        "--yes", "--json")


def _assert_issued_by_pebble(live: LiveCluster, server: Pebble, before: str) -> None:
    intermediate = x509.load_pem_x509_certificate(_fetch(
        f"https://127.0.0.1:{server.management_port}/intermediates/0", server.ca_bundle))
    served = _served_certificate(live.addresses[PUB], 8443)
    assert live.served(PUB, 8443) != before
    assert served.issuer == intermediate.subject
    served.verify_directly_issued_by(intermediate)
    shown = live.uccerts("cert", "show", PUB, "tomcat", "--json").json
    assert shown["self_signed"] is False and shown["sha256"] == live.served(PUB, 8443)
    assert live.uccerts("csr", "list", "--json").json == []


def test_acme_against_pebble_validates_http01_on_the_node(live: LiveCluster,
                                                          tmp_path: Path) -> None:
    require_binaries()  # skips without pebble, unless CI is set
    before = live.served(PUB, 8443)
    with run_pebble(tmp_path / "pebble") as server:
        done = _acme_run(live, server, "--acme-root-url", server.root_url)
        assert done.code == 0, done.out + done.err + _tail(tmp_path / "pebble" / "pebble.log")
        assert done.json["state"] == "done", done.json
        assert all(s["state"] == "done" for s in done.json["steps"])
        _assert_issued_by_pebble(live, server, before)
        root = x509.load_pem_x509_certificate(_fetch(server.root_url, server.ca_bundle))
    trust = live.uccerts("cert", "list", "--node", PUB, "--purpose", "tomcat-trust",
                         "--json")
    assert trust.code == 0, trust.err
    [common_name] = root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert str(common_name.value) in trust.out  # the root was fetched and trusted


def test_acme_chain_without_its_root_fails_resumably_until_the_root_is_trusted(
        live: LiveCluster, tmp_path: Path) -> None:
    require_binaries()
    before = live.served(PUB, 8443)
    with run_pebble(tmp_path / "pebble") as server:
        failed = _acme_run(live, server)  # pebble's chain stops below its root
        assert failed.code == 1, failed.out + failed.err
        assert failed.json["errors"][0]["code"] == "ca-not-in-trust-store"
        [runbook] = live.uccerts("runbook", "list", "--json").json
        assert runbook["state"] == "failed"
        assert live.served(PUB, 8443) == before
        # The operator trusts the CA's root by hand, then resumes: the signed
        # certificate is not ordered again.
        (tmp_path / "pebble-root.pem").write_bytes(_fetch(server.root_url,
                                                          server.ca_bundle))
        uploaded = live.uccerts("cert", "upload", PUB, "tomcat-trust",
                                str(tmp_path / "pebble-root.pem"), "--json")
        assert uploaded.code == 0, uploaded.out + uploaded.err
        resumed = live.uccerts("runbook", "resume", str(runbook["id"]), "--json")
        assert resumed.code == 0, resumed.out + resumed.err
        assert resumed.json["state"] == "done"
        _assert_issued_by_pebble(live, server, before)
    assert _log_count(tmp_path / "pebble" / "pebble.log", "Issued certificate serial") == 1


def _log_count(log: Path, text: str) -> int:
    return log.read_text(errors="replace").count(text)
