"""Phone fleet: N phones reset and re-register, against raw TLS handshakes.

Goal (the issue): 10,000 phones reset and re-register at a rate of at least 50 % of
the raw rate of TLS handshakes that Python achieves against one local listener, both
measured in the same run; and the fleet takes at most 20 KB of memory per phone.

Setup (not timed): a temporary home (SQLite); a cluster of a publisher and a subscriber
on loopback addresses of their own (127.77.X.1 and .2, X from the process id) with
``[phones] count = N``, created through the services layer (``clusters.init``); then
the runtime composed as ``uccerts serve`` composes it (``ServeService._main``: the
``Supervisor`` with every activated service listening, the ``Fleet``, ``StoreHooks``
over the store, the ``Database`` worker), without the control socket and the signal
handlers. Every service starts; the fleet starts and boots (each phone's first reset:
it takes the first ITL, TFTP signs its config); the boot is waited for.

What is timed: ``fleet.reset()`` of all N phones and ``await fleet.wait(...)`` until
none is resetting; all N must then be REGISTERED. A reset is what domain.md §9 says a
phone does: three plain HTTP GETs to its TFTP node (CTL, ITL, signed config; each its
own connection, ``Connection: close``), the ITL and config checks (the config's RSA
signature verified per phone), then a TLS handshake with its CallManager (full, no
session resumption) whose certificate is pinned against the ITL, and the REGISTER
line. TVS is not asked: the ITL did not change, so its signer is trusted already.

Baseline: one asyncio TLS listener (the CallManager's RSA-2048 certificate and key,
the same server context as the services) on 127.77.X.3, and N client handshakes
(connect, handshake, close; ``CERT_NONE``, the phones' client context) by
``runtime.phones.CONCURRENCY`` workers in the same event loop. Raw and fleet runs
alternate (raw, fleet, raw, ...); the medians are compared. Since a reset is a
handshake plus three HTTP exchanges and the checks, its rate is below the raw rate.

The wall times give the goal's ratio. The process's CPU time per handshake and per
reset is shown too (its ratio is a diagnostic that the machine's other load hardly
moves): the event loop runs on one core, both ends of every connection in it.

Memory: ``tracemalloc`` traces from just before the fleet is built (then the services
start, then the boot) until the boot has settled, and stops there, so that no timed
run is traced; what is still allocated then, divided by N, is the fleet's memory per
phone: Phone objects, their tasks and futures, the shared trust lists, and the
services' own few hundred kilobytes. TFTP's per-phone signed configs (server side: the
cache of ``runtime/tftp.py``, the bytes ``domain/signedfile.py`` makes for it) are
counted apart. RSS growth is a diagnostic: it also holds what the C allocator keeps
after the boot's peak of concurrent TLS connections.

Usage: python benchmarks/phone_fleet.py [--phones N] [--runs R]
    N phones (default 10000), R timed resets (default 3), each between raw runs.
Exits 0 whether or not the goal is met: a benchmark reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import ssl
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _harness import _cached_keygen

from uccerts.bootstrap import build_from_uow, build_services
from uccerts.config import Settings
from uccerts.runtime import phones as fleet_module
from uccerts.runtime.monitor import PhoneState
from uccerts.runtime.phones import Fleet
from uccerts.runtime.ports import Database, PhoneTrust
from uccerts.runtime.supervisor import CALLMANAGER, Supervisor
from uccerts.runtime.tlsctx import pinning_client_context, server_context
from uccerts.services.clock import utc_now
from uccerts.services.context import resolve_cluster
from uccerts.services.serve import node_plan
from uccerts.services.serve_store import StoreHooks

RATIO_GOAL = 0.5  # fleet resets per second ÷ raw handshakes per second, at least
MEMORY_GOAL = 20 * 1024  # bytes per phone, at most
SETTLE_S = 600.0  # how long a boot or a reset may take before the run is called failed
# Allocations whose line is in these files are TFTP's signed configs (server side):
# the cache of runtime/tftp.py and the bytes signedfile.py makes for it. One frame
# (not the whole stack) keeps tracemalloc's cost on the boot of 10,000 phones low.
CONFIG_FILES = (os.path.join("runtime", "tftp.py"), os.path.join("domain", "signedfile.py"))


def topology(phones: int, octet: int) -> str:
    return f"""
[cluster]
name = "fleet"
domain = "uc.example"
security_mode = 0

[web_security]
orgunit = "Collaboration"
orgname = "Example"
locality = "CUCM"
state = "CDMX"
country = "MX"

[[nodes]]
name = "cucm-pub"
role = "publisher"
address = "127.77.{octet}.1"

[[nodes]]
name = "cucm-sub1"
role = "subscriber"
address = "127.77.{octet}.2"

[phones]
count = {phones}
"""


# --- timing --------------------------------------------------------------------------


@dataclass
class Timing:
    wall_s: float = 0.0
    # The process's CPU time (every thread, user and system) over the same span: the
    # machine's other load stretches the wall time, hardly this.
    cpu_s: float = 0.0


@contextmanager
def timed() -> Iterator[Timing]:
    timing = Timing()
    wall, cpu = time.perf_counter(), time.process_time()
    yield timing
    timing.wall_s, timing.cpu_s = time.perf_counter() - wall, time.process_time() - cpu


# --- baseline ------------------------------------------------------------------------


async def raw_handshakes(server: ssl.SSLContext, host: str, count: int,
                         concurrency: int) -> Timing:
    """``count`` TLS handshakes (connect, handshake, close) against one listener,
    ``concurrency`` at a time."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    listener = await asyncio.start_server(serve, host, 0, ssl=server, backlog=4096)
    port = listener.sockets[0].getsockname()[1]
    client = pinning_client_context()
    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            _, writer = await asyncio.open_connection(host, port, ssl=client)
            writer.close()
            await writer.wait_closed()

    try:
        with timed() as timing:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return timing
    finally:
        listener.close()
        await listener.wait_closed()


# --- the cluster ---------------------------------------------------------------------


@dataclass
class Memory:
    fleet: int  # bytes still allocated after boot, but for TFTP's config cache
    configs: int  # TFTP's per-phone signed configs (server side)
    rss: int  # growth of the resident set over the same span
    trimmed: int | None  # the same once the C allocator returned its free pages (glibc)
    top: list[tuple[str, int]]  # the biggest contributors (file:line, bytes)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def retained(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, rss: int,
             trimmed: int | None) -> Memory:
    fleet = configs = 0
    for stat in after.compare_to(before, "filename"):
        if stat.traceback[0].filename.endswith(CONFIG_FILES):
            configs += stat.size_diff
        else:
            fleet += stat.size_diff
    top = [(f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}", s.size_diff)
           for s in after.compare_to(before, "lineno")[:6]]
    return Memory(fleet, configs, rss, trimmed, top)


def trim_rss() -> int | None:
    """RSS once glibc has handed its free pages back (``malloc_trim``); None elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return rss_bytes()


@dataclass
class Result:
    boot_s: float
    resets: list[Timing]
    raw: list[Timing]
    memory: Memory
    warnings: list[str]


async def run_cluster(services_home: Path, phones: int, runs: int, octet: int) -> Result:
    settings = Settings(home=services_home, db_url=f"sqlite:///{services_home / 'u.db'}")
    services = build_services(settings, actor="bench", source="bench")
    warnings: list[str] = []
    try:
        # Cluster creation makes a dozen RSA keys: not what is measured (see _harness).
        setup = build_from_uow(services.ctx.uow, actor="bench", source="bench",
                               keygen=_cached_keygen())
        setup.clusters.init(topology(phones, octet))
        ctx = services.ctx
        with ctx.read() as uow:
            cluster = resolve_cluster(uow, ctx.cluster)
            nodes = uow.clusters.nodes(cluster.name)
        hooks = StoreHooks(ctx, cluster.name)
        db = Database()
        supervisor = Supervisor([node_plan(n) for n in nodes], hooks, db,
                                warn=warnings.append)

        async def persist(updates: Sequence[PhoneTrust]) -> None:
            await db.run(hooks.save_phone_trust, updates)

        fleet: Fleet | None = None
        try:
            # As serve does: the fleet first (TFTP routes config requests through it),
            # then the services, then the boot.
            gc.collect()
            rss0 = trim_rss() or rss_bytes()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
            fleet = Fleet(await db.run(hooks.phones), supervisor.endpoint, persist,
                          clock=utc_now)
            supervisor.phones = fleet
            await supervisor.start_all(await db.run(hooks.saved_loads))
            began = time.perf_counter()
            fleet.start()
            settled = await fleet.wait(SETTLE_S)
            boot_s = time.perf_counter() - began
            gc.collect()
            after = tracemalloc.take_snapshot()
            rss1 = rss_bytes()
            rss2 = trim_rss()
            tracemalloc.stop()
            memory = retained(before, after, rss1 - rss0,
                              None if rss2 is None else rss2 - rss0)
            del before, after
            check(fleet, phones, settled, "boot")

            served = supervisor.served(nodes[0].hostname, CALLMANAGER)
            assert served is not None and served.certificate is not None and served.key
            raw_server = server_context(served.certificate, served.key)

            raw_at = f"127.77.{octet}.3"
            raw = [await raw_handshakes(raw_server, raw_at, phones, fleet_module.CONCURRENCY)]
            resets = []
            for i in range(runs):
                with timed() as timing:
                    fleet.reset()
                    settled = await fleet.wait(SETTLE_S)
                resets.append(timing)
                check(fleet, phones, settled, f"reset {i + 1}")
                raw.append(await raw_handshakes(raw_server, raw_at, phones,
                                                fleet_module.CONCURRENCY))
            return Result(boot_s, resets, raw, memory, warnings)
        finally:
            if fleet is not None:
                await fleet.stop()
            await supervisor.stop_all()
            db.close()
    finally:
        services.dispose()


def check(fleet: Fleet, phones: int, settled: bool, what: str) -> None:
    by_state = fleet.monitor.by_state()
    registered = by_state[PhoneState.REGISTERED.value]
    if not settled or registered != phones:
        reasons = sorted({p.reason for p in fleet.select()
                          if p.state is not PhoneState.REGISTERED})[:5]
        raise SystemExit(f"{what}: {registered} of {phones} phones registered "
                         f"(settled: {settled}; {by_state}; e.g. {reasons})")


# --- report --------------------------------------------------------------------------


def report(result: Result, phones: int) -> None:
    reset_s = statistics.median(t.wall_s for t in result.resets)
    raw_s = statistics.median(t.wall_s for t in result.raw)
    reset_cpu = statistics.median(t.cpu_s for t in result.resets)
    raw_cpu = statistics.median(t.cpu_s for t in result.raw)
    fleet_rate, raw_rate = phones / reset_s, phones / raw_s
    ratio = fleet_rate / raw_rate
    mem = result.memory
    per_phone = mem.fleet / phones
    print(f"{phones} phones, concurrency {fleet_module.CONCURRENCY}, "
          f"{len(result.resets)} timed resets, {len(result.raw)} raw runs (alternating)")
    print(f"  {'':34} {'median s':>9} {'per s':>7} {'CPU ms each':>12}   runs (s)")
    for label, wall, rate, cpu, runs in (
            ("raw TLS handshakes (one listener)", raw_s, raw_rate, raw_cpu, result.raw),
            ("fleet reset until all REGISTERED", reset_s, fleet_rate, reset_cpu,
             result.resets)):
        print(f"  {label:34} {wall:9.2f} {rate:7.0f} {cpu / phones * 1e3:12.2f}   "
              + " ".join(f"{t.wall_s:.2f}" for t in runs))
    print(f"  diagnostic: boot (first reset: first ITL, TFTP signs each config; "
          f"tracemalloc on) {result.boot_s:.2f} s; CPU-time ratio {raw_cpu / reset_cpu:.2f}")
    print(f"  ratio fleet/raw {ratio:.2f}  (goal >= {RATIO_GOAL}): "
          f"{'MET' if ratio >= RATIO_GOAL else 'MISSED'}")
    print(f"  memory per phone after boot (tracemalloc): fleet {per_phone:.0f} B "
          f"({mem.fleet / 2**20:.1f} MiB in all); besides, TFTP's signed configs "
          f"(server side) {mem.configs / phones:.0f} B")
    print("    biggest: " + ", ".join(f"{where} {size / phones:.0f} B"
                                      for where, size in mem.top))
    trimmed = ("" if mem.trimmed is None else
               f", {mem.trimmed / phones / 1024:.1f} KB once malloc_trim returned free pages")
    print(f"    diagnostic: RSS growth over the boot {mem.rss / phones / 1024:.1f} KB/phone"
          f"{trimmed} (all of it: services, TLS buffers of {fleet_module.CONCURRENCY} "
          "connections at a time, tracemalloc's own)")
    print(f"  memory {per_phone / 1024:.1f} KB/phone  (goal <= {MEMORY_GOAL // 1024} KB): "
          f"{'MET' if per_phone <= MEMORY_GOAL else 'MISSED'}")
    for warning in result.warnings:
        print(f"  warning: {warning}")
    print("goal met" if ratio >= RATIO_GOAL and per_phone <= MEMORY_GOAL else "goal missed")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=10_000, help="phones (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="timed resets (default 3)")
    args = parser.parse_args()
    octet = os.getpid() % 250 + 1
    with tempfile.TemporaryDirectory(prefix="uccerts-bench-") as tmp:
        result = asyncio.run(run_cluster(Path(tmp), args.phones, max(args.runs, 1), octet))
    report(result, args.phones)
    return 0


if __name__ == "__main__":
    sys.exit(main())
