"""Native API: the certificate list of a node with 200 trust certificates, against a
trivial endpoint of the same app, under 32 concurrent clients over real HTTP.

Goal (the issue): ``GET /api/v1/nodes/{node}/certificates`` for a node with 200 trust
certificates, under 32 concurrent clients on loopback, at no less than 50 % of the
requests/s of a trivial endpoint of the same app (``GET /api/v1/ping``: authenticated,
a few fields of JSON) measured in the same run.

Setup (not timed): a temporary home (SQLite, or ``--db`` PostgreSQL) with the demo
cluster, 200 CA certificates uploaded into the publisher's CallManager-trust (one
bundle, through ``certificates.upload``) and a read-write account. The app is the one
``serve`` gives each node's Cisco Tomcat (``app.create_app``), served the way Cisco
Tomcat serves it (``runtime.asgi.asgi_handler`` on a ``runtime.listener.Listener``,
plain HTTP on 127.0.0.1) in a server process of its own, built with
``bootstrap.build_services`` over the same home, as ``uccerts serve`` builds it.

What is timed: 32 clients (``httpx.AsyncClient`` each, keep-alive, HTTP Basic on every
request), in this process, send requests back to back for ``--seconds`` to one
endpoint; requests/s is what completed, every answer checked (200, and for the list,
the expected number of certificates). Ping and list runs alternate (ping, list, ping,
...); the medians are compared. A warm-up run of each comes first (the credential
cache and SQLite's page cache are then warm, as on a serving node).

The server and the clients run in separate processes (on a machine with two cores or
more, each gets its own); the server's CPU seconds per request are shown too.

Usage: python benchmarks/api_certificates.py [--db URL] [--runs R] [--seconds S]
Exits 0 whether or not the goal is met: a benchmark reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import NODE, backend_name, bench_services

from uccerts.config import Settings

CLIENTS = 32
TRUST = 200
USER, PASSWORD = "bench-api", "bench-api-password"
GOAL = 0.5


def trust_bundle(count: int) -> bytes:
    """``count`` distinct self-signed CA certificates (EC P-256: quick to make)."""
    now = dt.datetime.now(dt.UTC)
    pems = []
    for n in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Bench Root CA {n:03d}"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "uccerts bench")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        pems.append(cert.public_bytes(Encoding.PEM))
    return b"".join(pems)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------ the server


def serve(settings: Settings, host: str, port: int, ready: Any, cpu: Any) -> None:
    """The server process: the node's app on a Listener until terminated."""
    from uccerts.app import create_app
    from uccerts.bootstrap import build_services
    from uccerts.runtime.asgi import asgi_handler
    from uccerts.runtime.listener import Listener

    services = build_services(settings, actor="bench", source="bench")

    async def main() -> None:
        listener = Listener(host, port, asgi_handler(create_app(services, NODE),
                                                     scheme="http"))
        await listener.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, lambda: cpu.put(time.process_time()))
        ready.put(True)
        await stop.wait()
        await listener.stop()

    try:
        asyncio.run(main())
    finally:
        services.dispose()


# ------------------------------------------------------------------ the clients


async def load(base: str, path: str, seconds: float, expect: int | None) -> int:
    """Requests completed by CLIENTS clients in ``seconds``."""
    done = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        checked: bytes | None = None
        async with httpx.AsyncClient(base_url=base, auth=(USER, PASSWORD), limits=limits,
                                     timeout=60) as http:
            while time.monotonic() < deadline:
                response = await http.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
                if response.content != checked:  # parse a body once, compare the rest
                    if expect is not None and len(response.json()) != expect:
                        raise SystemExit(f"{path}: {len(response.json())} rows, not {expect}")
                    checked = response.content
                done += 1

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", metavar="URL", default=None,
                        help="run on this PostgreSQL database (a schema of its own)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per endpoint")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each run")
    args = parser.parse_args()

    with bench_services(args.db) as bench:
        services = bench.services
        services.accounts.add(USER, "read-write", PASSWORD)
        services.certificates.upload(NODE, "CallManager-trust", trust_bundle(TRUST),
                                     "Bench trust")
        expected = len(services.certificates.list(NODE))
        trust = len(services.certificates.list(NODE, kind="trust"))
        host = "127.0.0.1"
        port = free_port(host)
        mp = multiprocessing.get_context("spawn")
        ready, cpu = mp.Queue(), mp.Queue()
        server = mp.Process(target=serve, args=(bench.settings, host, port, ready, cpu))
        server.start()
        try:
            ready.get(timeout=120)
            report(args, f"http://{host}:{port}", expected, trust, server.pid, cpu)
        finally:
            server.terminate()
            server.join(30)


def server_cpu(pid: int | None, cpu: Any) -> float:
    assert pid is not None
    os.kill(pid, signal.SIGUSR1)
    value: float = cpu.get(timeout=30)
    return value


def report(args: argparse.Namespace, base: str, expected: int, trust: int, pid: int | None,
           cpu: Any) -> None:
    list_path = f"/api/v1/nodes/{NODE}/certificates"
    sides = {"ping": ("/api/v1/ping", None), "list": (list_path, expected)}
    rates: dict[str, list[float]] = {"ping": [], "list": []}
    cpu_per: dict[str, list[float]] = {"ping": [], "list": []}
    for path, expect in sides.values():  # warm-up
        asyncio.run(load(base, path, 1.0, expect))
    for _ in range(args.runs):
        for name, (path, expect) in sides.items():
            before = server_cpu(pid, cpu)
            start = time.perf_counter()
            count = asyncio.run(load(base, path, args.seconds, expect))
            elapsed = time.perf_counter() - start
            used = server_cpu(pid, cpu) - before
            rates[name].append(count / elapsed)
            cpu_per[name].append(used / count * 1e3)
    ping, listing = statistics.median(rates["ping"]), statistics.median(rates["list"])
    ratio = listing / ping
    print(f"Native API certificate list ({backend_name(args.db)}, {CLIENTS} clients, "
          f"keep-alive, HTTP Basic; {os.cpu_count()} CPUs)")
    print(f"  node {NODE}: {expected} certificates listed ({trust} trust)")
    for name, label in (("ping", "GET /api/v1/ping"), ("list", f"GET {list_path}")):
        runs = ", ".join(f"{r:.0f}" for r in rates[name])
        print(f"  {label:<44} {statistics.median(rates[name]):8.0f} req/s "
              f"(runs: {runs}); server CPU {statistics.median(cpu_per[name]):.3f} ms/req")
    verdict = "meets" if ratio >= GOAL else "MISSES"
    print(f"  ratio list/ping: {ratio:.2f} (goal >= {GOAL}: {verdict})")


if __name__ == "__main__":
    main()
