"""Concurrent wrong logins against a node's app: how many password checks ran, how long
the burst took, and the server's memory (issue 10 item 1).

Setup (not timed): a temporary home (SQLite) with the demo cluster and a read-write
account. The node's app (``app.create_app``) is served the way Cisco Tomcat serves it
(``runtime.asgi`` on a ``runtime.listener.Listener``, plain HTTP on loopback) in a
server process of its own; there, ``accounts.authenticate`` is wrapped to count the
password checks (scrypt, ~16 MiB each) and the most that ran at once.

Bursts (each request a new connection with HTTP Basic, all sent at once):
  one pair   ``--burst`` wrong passwords for one user from one address: the throttle
             reserves each attempt before its check, so at most 5 are checked;
  many users ``--burst`` wrong passwords for as many user names, spread over four
             loopback source addresses (the throttle does not apply): checks run a
             bounded few at a time, the rest wait or are refused 429.
Reported per burst: the answers by status, the checks run and most at once, the
wall time, and the server's RSS before, at its peak and 3 s after.

Loopback only, bounded (``--burst`` at most 500). Usage:
    python benchmarks/throttle.py [--burst N]
Exits 0 whatever it measures: a benchmark reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import NODE, bench_services

from uccerts.config import Settings

HOST = "127.62.0.1"
SOURCES = [f"127.62.1.{n}" for n in range(1, 5)]
USER, PASSWORD = "bench-admin", "bench-admin-password"
MAX_BURST = 500


def serve(settings: Settings, port: int, ready: Any, stats: Any) -> None:
    """The server process: the node's app on a Listener until SIGTERM; on SIGUSR1 it
    reports (checks, most at once) and resets them."""
    from uccerts.app import create_app
    from uccerts.bootstrap import build_services
    from uccerts.runtime.asgi import asgi_handler
    from uccerts.runtime.listener import Listener

    services = build_services(settings, actor="bench", source="bench")
    real = services.accounts.authenticate
    lock = threading.Lock()
    count = {"checks": 0, "running": 0, "most": 0}

    def counted(user: str, password: str) -> Any:
        with lock:
            count["checks"] += 1
            count["running"] += 1
            count["most"] = max(count["most"], count["running"])
        try:
            return real(user, password)
        finally:
            with lock:
                count["running"] -= 1

    services.accounts.authenticate = counted  # type: ignore[method-assign]

    def report() -> None:
        with lock:
            stats.put((count["checks"], count["most"]))
            count["checks"] = count["most"] = 0

    async def main() -> None:
        listener = Listener(HOST, port, asgi_handler(create_app(services, NODE),
                                                     scheme="http"))
        await listener.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, report)
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


async def burst(port: int, creds: list[tuple[str, str, str]], pid: int
                ) -> tuple[collections.Counter[str], float, float]:
    """Every (source, user, password) at once; (answers by status, seconds, peak RSS)."""
    peak = rss_mib(pid)
    done = False

    async def watch() -> None:
        nonlocal peak
        while not done:
            peak = max(peak, rss_mib(pid))
            await asyncio.sleep(0.05)

    async def one(source: str, user: str, password: str) -> str:
        transport = httpx.AsyncHTTPTransport(local_address=source)
        async with httpx.AsyncClient(transport=transport, timeout=120) as http:
            try:
                response = await http.get(f"http://{HOST}:{port}/api/v1/ping",
                                          auth=(user, password))
            except httpx.HTTPError as err:
                return type(err).__name__
            return str(response.status_code)

    watcher = asyncio.ensure_future(watch())
    started = time.monotonic()
    answers = await asyncio.gather(*(one(*c) for c in creds))
    took = time.monotonic() - started
    done = True
    await watcher
    return collections.Counter(answers), took, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=200,
                        help=f"logins sent at once per burst (at most {MAX_BURST})")
    args = parser.parse_args()
    size = min(args.burst, MAX_BURST)
    with bench_services(None) as bench:
        bench.services.accounts.add(USER, "read-write", PASSWORD)
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        spawn = multiprocessing.get_context("spawn")
        ready, stats = spawn.Queue(), spawn.Queue()
        server = spawn.Process(target=serve, args=(bench.settings, port, ready, stats))
        server.start()
        try:
            ready.get(timeout=60)
            pid = server.pid or 0
            # One address may hold 128 connections: the one-pair burst stays under it.
            bursts = {
                "one pair": [(SOURCES[0], USER, "wrong-password")] * min(size, 100),
                "many users": [(SOURCES[n % len(SOURCES)], f"nobody{n}", "wrong")
                               for n in range(size)],
            }
            print(f"throttle: wrong logins sent at once to {HOST}:{port} (plain HTTP)")
            for name, creds in bursts.items():
                before = rss_mib(pid)
                answers, took, peak = asyncio.run(burst(port, creds, pid))
                time.sleep(3)
                after = rss_mib(pid)
                server_signal(pid)
                checks, most = stats.get(timeout=10)
                shown = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))
                print(f"  {name:<10} {len(creds):4d} logins  {took:6.2f} s  password checks "
                      f"{checks:4d} (at most {most} at once)  answers {shown}")
                print(f"  {'':<10} server RSS MiB before {before:6.1f}  peak {peak:6.1f}  "
                      f"3 s after {after:6.1f}")
        finally:
            server.terminate()
            server.join(10)


def server_signal(pid: int) -> None:
    import os

    os.kill(pid, signal.SIGUSR1)


if __name__ == "__main__":
    main()
