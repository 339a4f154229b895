"""A live cluster for end-to-end tests: ``uccerts serve`` in a subprocess, and what a
client sees of it (the certificate a TLS listener serves, now).

Node addresses are unique per test worker (``127.<200+worker>.<pid>.x``) so workers
and concurrent runs never share a listener.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from cli_runner import ENTRY, Result, run_uccerts
from clusters import TOPOLOGY

START_TIMEOUT_S = 60.0


def worker_prefix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return f"127.{200 + int(worker or 0) % 50}.{os.getpid() % 250}."


def live_topology() -> str:
    return TOPOLOGY.replace("127.0.1.", worker_prefix())


def served_sha256(address: str, port: int, timeout: float = 10.0) -> str:
    """SHA-256 of the certificate a TLS handshake to ``address:port`` receives."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return hashlib.sha256(der).hexdigest()


def refuses(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


class LiveCluster:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}
        self.addresses: dict[str, str] = {}

    def start(self) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UCCERTS_")}
        env["UCCERTS_HOME"] = str(self.home)
        with (self.home.parent / "serve.err").open("ab") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", ENTRY, "serve", "--json"],
                                         stdout=subprocess.PIPE, stderr=err, env=env)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.kill()
            raise AssertionError("serve did not start: " + self.errors())
        self.ready = json.loads(line)
        self.addresses = {n["node"]: n["address"] for n in self.ready["nodes"]}
        return self.ready

    def errors(self) -> str:
        path = self.home.parent / "serve.err"
        return path.read_text() if path.exists() else ""

    def stop(self) -> int:
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        return self._end(signal.SIGKILL)

    def _end(self, sig: int) -> int:
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Never leave a serve holding this worker's addresses for the next test.
            proc.kill()
            proc.wait(timeout=30)
            raise AssertionError(f"serve did not stop within 30 s of signal {sig}: "
                                 + self.errors()) from None
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
        return code

    def uccerts(self, *args: str | Path, stdin: bytes | None = None) -> Result:
        return run_uccerts(self.home, *args, stdin=stdin)

    def served(self, node: str, port: int) -> str:
        return served_sha256(self.addresses[node], port)

    def service_sha(self, node: str, service: str) -> str | None:
        listing = self.uccerts("service", "list", node, "--json")
        assert listing.code == 0, listing.err
        return next(r["certificate_sha256"] for r in listing.json if r["service"] == service)

    def phones(self, *, wait: bool = True) -> dict[str, Any]:
        args = ["phones", "status", "--json"] + (["--wait"] if wait else [])
        result = self.uccerts(*args)
        assert result.code == 0, result.err
        data: dict[str, Any] = result.json
        return data
