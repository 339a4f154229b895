"""Slow clients against a node's Cisco Tomcat: the server's memory before, during and
after a flood of connections that each trickle a request head in (issue 10 item 2).

Setup (not timed): a temporary home (SQLite) with the demo cluster; the node's app
(``app.create_app``) served the way Cisco Tomcat serves it (``runtime.asgi`` on a TLS
``runtime.listener.Listener``) in a server process of its own, on a loopback address.

The flood: ``--connections`` TLS clients (at most 3000), spread over ``--sources``
loopback source addresses, each sending one header line every ``--interval`` seconds
and never ending its head; a client the server closes connects again, until
``--hold`` seconds have passed. Then every client leaves.

Reported: the server's RSS (from /proc) idle before, the highest seen during, and
``--settle`` seconds after the clients left; its open descriptors likewise; how many
connections were turned away before their TLS handshake (the per-service and
per-address caps) and how many were closed by the head deadline (``runtime.asgi.HEAD_TIMEOUT_S``).

Loopback only, bounded in count and time. Usage:
    python benchmarks/slowloris.py [--connections N] [--hold S] [--interval S]
Exits 0 whatever it measures: a benchmark reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import multiprocessing
import os
import resource
import signal
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import NODE, bench_services

from uccerts.config import Settings

HOST = "127.61.0.1"
SOURCES = "127.61.1.{}"
MAX_CONNECTIONS = 3000
MAX_SECONDS = 120.0


def _self_signed() -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{NODE}.bench")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert, key


def serve(settings: Settings, port: int, ready: Any) -> None:
    """The server process: the node's app on a TLS Listener until SIGTERM."""
    from uccerts.app import create_app
    from uccerts.bootstrap import build_services
    from uccerts.runtime.asgi import asgi_handler
    from uccerts.runtime.listener import Listener
    from uccerts.runtime.tlsctx import server_context

    services = build_services(settings, actor="bench", source="bench")
    cert, key = _self_signed()
    tls = server_context(cert, key)

    async def main() -> None:
        listener = Listener(HOST, port, asgi_handler(create_app(services, NODE)), tls)
        await listener.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ready.put(True)
        await stop.wait()
        await listener.stop()

    try:
        asyncio.run(main())
    finally:
        services.dispose()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Tally:
    def __init__(self) -> None:
        self.open = self.refused = self.cut = 0


async def slow_client(n: int, port: int, args: argparse.Namespace, until: float,
                      tally: Tally) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    source = SOURCES.format(1 + n % args.sources)
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                HOST, port, ssl=ctx, local_addr=(source, 0)), 10)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            tally.refused += 1  # closed before the handshake ended: over a cap
            await asyncio.sleep(args.interval)
            continue
        tally.open += 1
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
            line = 0
            while time.monotonic() < until:
                with contextlib.suppress(TimeoutError):
                    got = await asyncio.wait_for(reader.read(4096), args.interval)
                    if not got or reader.at_eof():
                        tally.cut += 1
                        break
                writer.write(b"X-Slow-%d: y\r\n" % line)
                line += 1
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            tally.cut += 1
        finally:
            tally.open -= 1
            writer.close()


async def flood(pid: int, port: int, args: argparse.Namespace) -> dict[str, Any]:
    tally = Tally()
    until = time.monotonic() + args.hold
    clients = [asyncio.ensure_future(slow_client(n, port, args, until, tally))
               for n in range(args.connections)]
    peak_rss = peak_fds = 0.0
    while not all(c.done() for c in clients):
        peak_rss = max(peak_rss, rss_mib(pid))
        peak_fds = max(peak_fds, descriptors(pid))
        await asyncio.sleep(0.5)
    return {"peak_rss": peak_rss, "peak_fds": int(peak_fds), "refused": tally.refused,
            "cut": tally.cut}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1500)
    parser.add_argument("--sources", type=int, default=30,
                        help="loopback source addresses the clients spread over")
    parser.add_argument("--interval", type=float, default=2.0,
                        help="seconds between two header lines of one client")
    parser.add_argument("--hold", type=float, default=25.0, help="seconds of flood")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after the flood before measuring again")
    args = parser.parse_args()
    args.connections = min(args.connections, MAX_CONNECTIONS)
    args.hold = min(args.hold, MAX_SECONDS)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * MAX_CONNECTIONS)),
                                                hard))
    from uccerts.runtime import asgi

    with bench_services(None) as bench:
        import socket

        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        spawn = multiprocessing.get_context("spawn")
        ready = spawn.Queue()
        server = spawn.Process(target=serve, args=(bench.settings, port, ready))
        server.start()
        try:
            ready.get(timeout=60)
            time.sleep(1)
            pid = server.pid or 0
            idle_rss, idle_fds = rss_mib(pid), descriptors(pid)
            started = time.monotonic()
            seen = asyncio.run(flood(pid, port, args))
            took = time.monotonic() - started
            time.sleep(args.settle)
            after_rss, after_fds = rss_mib(pid), descriptors(pid)
        finally:
            server.terminate()
            server.join(10)
    print(f"slowloris: {args.connections} TLS clients from {args.sources} addresses, a "
          f"header line every {args.interval:g} s, for {took:.0f} s "
          f"(head deadline {asgi.HEAD_TIMEOUT_S:g} s; caps {asgi.MAX_CONNECTIONS} per "
          f"service, {asgi.MAX_PER_CLIENT} per address)")
    print(f"  server RSS MiB   idle {idle_rss:7.1f}   peak {seen['peak_rss']:7.1f}   "
          f"{args.settle:g} s after {after_rss:7.1f}")
    print(f"  descriptors      idle {idle_fds:7d}   peak {seen['peak_fds']:7d}   "
          f"{args.settle:g} s after {after_fds:7d}")
    print(f"  connections turned away before their handshake (caps): {seen['refused']}; "
          f"closed by the server after being served (head deadline): {seen['cut']}")


if __name__ == "__main__":
    main()
