"""Debian's ``pebble`` (an ACME test server) on loopback, with REAL http-01 validation.

    with run_pebble(folder) as server:                 # pebble + pebble-challtestsrv
        server.add_a("pub.uc.example")                 # DNS: name -> responder address
        enroller = AcmeEnroller(server.settings())
        issued = enroller.issue(csr, [server.responder_ip])

How validation is made real: pebble's validator resolves names through
``pebble-challtestsrv`` (its ``-dnsserver``), a mock DNS server whose A records the
test sets over its management API. A name with a record points at
``RESPONDER_IP``, where the enroller's own http-01 responder listens on
``http01_port`` (pebble's ``httpPort``), so pebble really fetches
``/.well-known/acme-challenge/<token>`` from uccerts and checks the key
authorization. A name WITHOUT a record resolves to ``UNANSWERED_IP`` (the mock's
default), where nothing listens: its validation fails, which proves the records are
used. AAAA answers are off, so the validator dials IPv4 only.

Pebble's own TLS certificate (for 127.0.0.1 and localhost) and the CA that signs it are
made here with ``cryptography``; the package ships none. Environment: no artificial
validation sleeps (``PEBBLE_VA_NOSLEEP``), no nonce rejection and no authorization
reuse, so every order validates afresh and runs are deterministic.

Everything listens on 127.0.0.1 on ports picked by the kernel; every wait is bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from pki import CA
from uccerts.enroll.acme import AcmeSettings

HOST = "127.0.0.1"
RESPONDER_IP = "127.0.0.1"  # where the enroller answers http-01
UNANSWERED_IP = "127.0.0.2"  # the mock DNS's answer for unknown names: nobody listens
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


def binaries() -> tuple[str, str] | None:
    """(pebble, pebble-challtestsrv) from Debian's ``pebble`` package, when installed."""
    pebble, dns = shutil.which("pebble"), shutil.which("pebble-challtestsrv")
    return (pebble, dns) if pebble and dns else None


def require_binaries() -> tuple[str, str]:
    """Skip without pebble on a developer's machine; under CI fail instead."""
    found = binaries()
    if found is None:
        why = "Debian's pebble (pebble, pebble-challtestsrv) is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{why}: CI must run the ACME tests (.ci/run installs it)")
        pytest.skip(f"{why} (apt-get install pebble; CI fails instead of skipping)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Pebble:
    """A running pebble: where its directory is and how to trust and feed it."""

    folder: Path
    acme_port: int
    management_port: int
    dns_management_port: int
    http01_port: int

    @property
    def directory(self) -> str:
        return f"https://{HOST}:{self.acme_port}/dir"

    @property
    def ca_bundle(self) -> Path:
        """The CA that signed pebble's TLS certificate (not its issuing CA)."""
        return self.folder / "tls-ca.pem"

    @property
    def root_url(self) -> str:
        """Pebble's issuing root, new at every start (management interface)."""
        return f"https://{HOST}:{self.management_port}/roots/0"

    @property
    def responder_ip(self) -> str:
        return RESPONDER_IP

    def settings(self, **overrides: Any) -> AcmeSettings:
        values: dict[str, Any] = {
            "directory": self.directory, "ca_bundle": self.ca_bundle,
            "http01_port": self.http01_port, "timeout_s": 30.0, "root_url": self.root_url,
            "contact": "pki@uc.example"}
        values.update(overrides)
        return AcmeSettings(**values)

    def add_a(self, name: str, address: str = RESPONDER_IP) -> None:
        """Make pebble's validator resolve ``name`` to ``address``."""
        body = json.dumps({"host": name, "addresses": [address]}).encode()
        request = urllib.request.Request(
            f"http://{HOST}:{self.dns_management_port}/add-a", data=body, method="POST")
        with _no_proxy().open(request, timeout=5) as response:
            assert response.status == 200, response.status


def _no_proxy() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _write_tls(folder: Path) -> None:
    """Pebble's HTTPS certificate for 127.0.0.1/localhost, valid from yesterday."""
    now = dt.datetime.now(dt.UTC)
    ca = CA.root("uccerts pebble TLS CA", not_before=now - dt.timedelta(days=1), days=30)
    leaf = ca.issue("localhost", sans=["localhost", HOST], key_type="ec",
                    not_before=now - dt.timedelta(days=1), days=30)
    assert leaf.key is not None
    pem = serialization.Encoding.PEM
    (folder / "tls-ca.pem").write_bytes(ca.cert.public_bytes(pem))
    (folder / "tls-cert.pem").write_bytes(leaf.cert.public_bytes(pem))
    (folder / "tls-key.pem").write_bytes(leaf.key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@contextmanager
def run_pebble(folder: Path) -> Iterator[Pebble]:
    """Start pebble-challtestsrv then pebble in ``folder``; stop both afterwards."""
    pebble_bin, dns_bin = require_binaries()
    folder.mkdir(parents=True, exist_ok=True)
    _write_tls(folder)
    server = Pebble(folder, free_port(), free_port(), free_port(), free_port())
    dns_port = free_port()
    config = {"pebble": {
        "listenAddress": f"{HOST}:{server.acme_port}",
        "managementListenAddress": f"{HOST}:{server.management_port}",
        "certificate": str(folder / "tls-cert.pem"),
        "privateKey": str(folder / "tls-key.pem"),
        "httpPort": server.http01_port,
        "tlsPort": free_port(),  # tls-alpn-01: pebble only dials it, never listens
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}
    (folder / "pebble-config.json").write_text(json.dumps(config, indent=2))
    env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
           "PEBBLE_AUTHZREUSE": "0"}
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(key, None)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(_spawn(folder, "challtestsrv", [
            dns_bin, "-dns01", f"{HOST}:{dns_port}", "-http01", "", "-https01", "",
            "-tlsalpn01", "", "-management", f"{HOST}:{server.dns_management_port}",
            "-defaultIPv4", UNANSWERED_IP, "-defaultIPv6", ""], env))
        _wait_tcp(server.dns_management_port, processes[-1], folder / "challtestsrv.log")
        processes.append(_spawn(folder, "pebble", [
            pebble_bin, "-config", str(folder / "pebble-config.json"),
            "-dnsserver", f"{HOST}:{dns_port}"], env))
        _wait_directory(server, processes[-1], folder / "pebble.log")
        yield server
    finally:
        for process in reversed(processes):
            _stop(process)


def _spawn(folder: Path, name: str, argv: list[str], env: dict[str, str]
           ) -> subprocess.Popen[bytes]:
    log = (folder / f"{name}.log").open("wb")
    try:
        return subprocess.Popen(argv, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()  # the child has its own descriptor


def _wait_tcp(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        _check_alive(process, log)
        with suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{log.stem} did not listen within {START_TIMEOUT_S:g} s:\n"
                       + log.read_text(errors="replace")[-2000:])


def _wait_directory(server: Pebble, process: subprocess.Popen[bytes], log: Path) -> None:
    context = ssl.create_default_context(cafile=str(server.ca_bundle))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        _check_alive(process, log)
        with suppress(OSError), opener.open(server.directory, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"pebble did not answer within {START_TIMEOUT_S:g} s:\n"
                       + log.read_text(errors="replace")[-2000:])


def _check_alive(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"{log.stem} exited with {process.returncode}:\n"
                           + log.read_text(errors="replace")[-2000:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
