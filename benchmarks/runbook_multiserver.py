"""Multi-server tomcat runbook on a 20-node cluster with the lab CA, against the raw
cryptography it needs.

Goal (issue 5): "Multi-server tomcat on a 20-node cluster with the lab CA: total time
÷ the sum of the raw cryptography work (keygen + signing) it needs, and the share
spent waiting for restarts. Report both." No threshold: the script reports.

Setup (not timed): a temporary home (SQLite); a cluster of a publisher and N-1
subscribers (default N = 20) on loopback addresses of their own (127.66.X.1 … .N, X
from the process id, the services' default ports) with a few phones, created through
the services layer (``clusters.init``; its ~100 self-signed identities take their keys
from ``_harness``'s cache); the lab CA (``LabCaService.init``); then the runtime as
``uccerts serve`` composes it (``ServeService._main``: the ``Supervisor`` with every
activated service listening, the ``Fleet``, ``StoreHooks``, the ``Database`` worker,
``LocalControl``) on an event loop in a background thread, the phones booted. The
runbook service (``bootstrap.build_runbooks``) gets its own engine on the same home,
as the CLI process has beside ``serve``, and the blocking adapter that hands each
call of the port to ``LocalControl`` on that loop (what the control socket does,
without the socket's sub-millisecond round trip).

What is timed: ``RunbookService.start(Request(tomcat, multi-server, lab CA))`` until it
returns: N expiry checks, one multi-server CSR on the publisher (an RSA-2048 key made
the production way), the lab CA signing it, root and intermediate uploaded to
tomcat-trust (replicated to every node), the certificate installed on all N nodes,
Cisco Tomcat restarted node by node (publisher first), and each node's served
certificate verified. Every step is recorded before and after it runs (its own
transactions). Then the runbook must be ``done`` and no node's Tomcat may report
``restart_needed``. Each step's wall time comes from the runbook's ``on_step`` hook
(``perf_counter``: the stored ``started``/``finished`` are whole seconds).

Baseline, measured in the same run: the cryptography the runbook cannot avoid — one
RSA-2048 key generation, one CSR with the runbook's subject and extensions (the
cluster's domain and N FQDNs as SANs) signed with it, and one certificate with the
lab CA's leaf extensions signed by the intermediate's key, all with ``cryptography``
directly. Batches of raw samples are taken before, between and after the runbooks;
the medians are compared. RSA key generation is noisy (its spread is about its
median): the ratio moves from run to run, the spreads are printed.

Reported: total ÷ raw, and the restart share (the restart steps' spans ÷ total, and
the part of it spent inside the control's ``service.restart`` calls); then, for the
median runbook, each step action's time inside its handler (``RunbookService._do``,
wrapped) and its span with the step's recording, what recording the runbook costs
outside the handlers, and the process's CPU time (the machine's other load stretches
the wall times, hardly this).

Usage: python benchmarks/runbook_multiserver.py [--nodes N] [--phones P] [--runs R]
        [--raw R2] [--profile]
    N nodes (default 20), P phones (default 20), R timed runbooks (default 5, one after
    the other, each a new runbook), R2 raw samples per batch (default 7, R+1 batches).
    --profile: one more runbook under cProfile (every thread), its top functions.
Exits 0: a benchmark reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from _harness import _cached_keygen, median_ms, spread_ms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from uccerts.bootstrap import Services, build_from_uow, build_runbooks, build_services
from uccerts.config import Settings
from uccerts.domain.control import (
    SERVICE_TIMEOUT_S,
    ServiceAction,
    ServiceResult,
    ServiceStatus,
    Who,
)
from uccerts.domain.csr import CsrOptions, build_csr, plan_csr
from uccerts.domain.model import Distribution, Node, Runbook, RunbookStep
from uccerts.domain.purposes import Role, purpose
from uccerts.domain.runbook import Action, CaKind, Request
from uccerts.domain.runbook_options import RunbookOptions
from uccerts.enroll.labca import SignOptions
from uccerts.runtime.phones import Fleet
from uccerts.runtime.ports import Database, PhoneTrust
from uccerts.runtime.supervisor import Supervisor
from uccerts.services.ca import LabCaService
from uccerts.services.clock import utc_now
from uccerts.services.context import resolve_cluster
from uccerts.services.control import Blocking
from uccerts.services.serve import LocalControl, node_plan
from uccerts.services.serve_store import StoreHooks

T = TypeVar("T")
TOMCAT = "Cisco Tomcat"
SETTLE_S = 120.0  # how long the phones' boot may take


def topology(nodes: int, phones: int, octet: int) -> str:
    parts = [f"""
[cluster]
name = "multi"
domain = "uc.example"
security_mode = 0

[web_security]
orgunit = "Collaboration"
orgname = "Example"
locality = "CUCM"
state = "CDMX"
country = "MX"

[phones]
count = {phones}
"""]
    for i in range(1, nodes + 1):
        name, role = ("cucm-pub", "publisher") if i == 1 else (f"cucm-sub{i - 1}",
                                                                "subscriber")
        parts.append(f'[[nodes]]\nname = "{name}"\nrole = "{role}"\n'
                     f'address = "127.66.{octet}.{i}"\n')
    return "\n".join(parts)


# --- the running cluster -------------------------------------------------------------


class TimedControl(LocalControl):
    """``LocalControl`` timing each service action (wall seconds by op name)."""

    calls: dict[str, list[float]]

    async def service(self, who: Who, action: ServiceAction, node: str, service: str, *,
                      on_event: Callable[[str], None] | None = None,
                      timeout: float = SERVICE_TIMEOUT_S) -> ServiceResult:
        began = time.perf_counter()
        try:
            return await super().service(who, action, node, service, on_event=on_event,
                                         timeout=timeout)
        finally:
            self.calls[f"service.{action.value}"].append(time.perf_counter() - began)


class Runtime:
    """What ``uccerts serve`` runs, on an event loop in a thread of its own; ``control``
    is the blocking port a runbook drives."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.warnings: list[str] = []
        self.calls: dict[str, list[float]] = defaultdict(list)  # op -> wall seconds
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-serve",
                                        daemon=True)
        self._thread.start()
        self._db: Database | None = None
        self._fleet: Fleet | None = None
        self._supervisor: Supervisor | None = None
        self._ops: TimedControl | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def start(self) -> None:
        self.run(self._start())

    async def _start(self) -> None:
        ctx = self._services.ctx
        with ctx.read() as uow:
            cluster = resolve_cluster(uow, ctx.cluster)
            nodes = uow.clusters.nodes(cluster.name)
        hooks = StoreHooks(ctx, cluster.name)
        db = self._db = Database()
        supervisor = self._supervisor = Supervisor([node_plan(n) for n in nodes], hooks, db,
                                                   warn=self.warnings.append)

        async def persist(updates: Sequence[PhoneTrust]) -> None:
            await db.run(hooks.save_phone_trust, updates)

        # As serve does: the fleet first (TFTP routes config requests through it),
        # then the services, then the phones' boot.
        fleet = self._fleet = Fleet(await db.run(hooks.phones), supervisor.endpoint,
                                         persist, clock=utc_now)
        supervisor.phones = fleet
        self._ops = TimedControl(supervisor, fleet, hooks, db)
        self._ops.calls = self.calls
        await supervisor.start_all(await db.run(hooks.saved_loads))
        fleet.start()
        if not await fleet.wait(SETTLE_S):
            raise SystemExit(f"the phones did not settle: {fleet.status()['by_state']}")

    @property
    def control(self) -> Blocking:
        assert self._ops is not None
        return Blocking(self._ops, Who("bench", "bench"), self._loop)

    def in_threads(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the event loop's thread, then on the store worker's; wait."""
        async def both() -> None:
            fn()
            assert self._db is not None
            await self._db.run(fn)

        self.run(both())

    def stop(self) -> None:
        async def stop() -> None:
            if self._fleet is not None:
                await self._fleet.stop()
            if self._supervisor is not None:
                await self._supervisor.stop_all()

        try:
            self.run(stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            if self._db is not None:
                self._db.close()


# --- the baseline --------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """What the raw side rebuilds: the runbook's CSR and the lab CA's leaf, untimed."""

    csr: x509.CertificateSigningRequest
    leaf: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey
    sans: int


def reference(services: Services, settings: Settings) -> Reference:
    ctx = services.ctx
    with ctx.read() as uow:
        cluster = resolve_cluster(uow, ctx.cluster)
        nodes = uow.clusters.nodes(cluster.name)
    publisher = next(n for n in nodes if n.role is Role.PUBLISHER)
    plan = plan_csr(purpose("tomcat"), publisher, nodes, cluster.domain,
                    CsrOptions(distribution=Distribution.MULTI_SERVER))
    csr = build_csr(plan, rsa.generate_private_key(65537, 2048))
    ca = LabCaService(settings, ctx.clock).load()
    leaf = ca.sign(csr, SignOptions(), now=ctx.clock()).leaf
    assert isinstance(ca.intermediate_key, rsa.RSAPrivateKey)
    return Reference(csr, leaf, ca.intermediate, ca.intermediate_key, len(plan.sans))


@dataclass
class Raw:
    keygen_ns: list[int] = field(default_factory=list)
    csr_ns: list[int] = field(default_factory=list)
    cert_ns: list[int] = field(default_factory=list)
    total_ns: list[int] = field(default_factory=list)


def raw_batch(ref: Reference, count: int, raw: Raw) -> None:
    """``count`` times: an RSA-2048 key, the CSR signed with it, the leaf signed by the
    intermediate's key — the runbook's unavoidable cryptography."""
    csr_exts = list(ref.csr.extensions)
    leaf_exts = list(ref.leaf.extensions)
    for _ in range(count):
        t0 = time.perf_counter_ns()
        key = rsa.generate_private_key(65537, 2048)
        t1 = time.perf_counter_ns()
        builder = x509.CertificateSigningRequestBuilder().subject_name(ref.csr.subject)
        for ext in csr_exts:
            builder = builder.add_extension(ext.value, critical=ext.critical)
        csr = builder.sign(key, hashes.SHA256())
        t2 = time.perf_counter_ns()
        start = ref.leaf.not_valid_before_utc
        cert = (x509.CertificateBuilder()
                .subject_name(csr.subject).issuer_name(ref.intermediate.subject)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(start + timedelta(days=365)))
        for ext in leaf_exts:
            cert = cert.add_extension(ext.value, critical=ext.critical)
        cert.sign(ref.intermediate_key, hashes.SHA256())
        t3 = time.perf_counter_ns()
        raw.keygen_ns.append(t1 - t0)
        raw.csr_ns.append(t2 - t1)
        raw.cert_ns.append(t3 - t2)
        raw.total_ns.append(t3 - t0)


# --- the runbook ---------------------------------------------------------------------


@dataclass
class Run:
    total_s: float
    cpu_s: float  # the process's CPU time (every thread) over the same span
    steps: list[tuple[RunbookStep, float]]  # each step and its wall seconds (on_step)
    work: dict[int, float]  # step n -> seconds inside its handler (the step's own work)
    restart_calls_s: float  # inside the control's service.restart calls


def services_of(runtime: Runtime, hostname: str) -> tuple[ServiceStatus, ...]:
    return runtime.control.run(lambda c, who: c.service_status(who, hostname))


def run_runbook(services: Services, settings: Settings, runtime: Runtime,
                nodes: Sequence[Node]) -> Run:
    runbooks = build_runbooks(settings, services, runtime.control)
    request = Request(purpose("tomcat"), distribution=Distribution.MULTI_SERVER,
                      ca=CaKind.LAB)
    began: dict[int, float] = {}
    steps: list[tuple[RunbookStep, float]] = []
    work: dict[int, float] = {}
    # A step's span (on_step running -> done) is its handler plus reading the runbook
    # again and recording the step done; the handler alone is timed here.
    handler = runbooks._do

    def timed_do(runbook: Runbook, step: RunbookStep) -> str:
        began_at = time.perf_counter()
        try:
            return handler(runbook, step)
        finally:
            work[step.n] = time.perf_counter() - began_at

    runbooks._do = timed_do  # type: ignore[method-assign]

    def on_step(step: RunbookStep) -> None:
        now = time.perf_counter()
        if step.state == "running":
            began[step.n] = now
        elif step.state == "done":
            steps.append((step, now - began[step.n]))

    restarts_before = sum(runtime.calls["service.restart"])
    t0, cpu0 = time.perf_counter(), time.process_time()
    runbook = runbooks.start(request, RunbookOptions(), on_step=on_step)
    total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    restart_calls = sum(runtime.calls["service.restart"]) - restarts_before

    if runbook.state != "done" or any(s.state != "done" for s in runbook.steps):
        raise SystemExit(f"runbook {runbook.id} ended {runbook.state}: {runbook.message}")
    if len(steps) != len(runbook.steps):
        raise SystemExit(f"on_step saw {len(steps)} of {len(runbook.steps)} steps done")
    for node in nodes:
        row = next(r for r in services_of(runtime, node.hostname)
                   if r.running.service == TOMCAT)
        if row.running.state != "STARTED" or row.restart_needed:
            raise SystemExit(f"{TOMCAT} on {node.hostname}: {row}")
    with services.ctx.read() as uow:
        cluster = resolve_cluster(uow, services.ctx.cluster).name
        shas = {i.certificate.fingerprint(hashes.SHA256())
                for i in uow.identities.list(cluster) if i.purpose == "tomcat"}
    if len(shas) != 1:
        raise SystemExit(f"multi-server: {len(shas)} different tomcat certificates")
    return Run(total, cpu, steps, work, restart_calls)


def profile_runbook(services: Services, settings: Settings, runtime: Runtime,
                    nodes: Sequence[Node]) -> str:
    """One more runbook with every thread profiled (the runbook's, the event loop's,
    the store worker's); the top functions by own time and by cumulative time."""
    profiles: dict[str, cProfile.Profile] = {}

    def attach() -> None:
        prof = profiles[threading.current_thread().name] = cProfile.Profile()
        prof.enable()

    def detach() -> None:
        profiles[threading.current_thread().name].disable()

    main = cProfile.Profile()
    runtime.in_threads(attach)
    main.enable()
    try:
        run_runbook(services, settings, runtime, nodes)
    finally:
        main.disable()
        runtime.in_threads(detach)
    out = io.StringIO()
    for title, prof in (("runbook thread", main), *(
            (f"{name} thread", p) for name, p in profiles.items())):
        out.write(f"--- {title}: by own time\n")
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("tottime").print_stats(12)
        out.write(f"--- {title}: by cumulative time\n")
        stats.sort_stats("cumulative").print_stats(25)
    return out.getvalue()


# --- report --------------------------------------------------------------------------


def report(runs: list[Run], raw: Raw, ref: Reference, nodes: int, phones: int,
           raw_batches: int) -> None:
    total = statistics.median(r.total_s for r in runs)
    cpu = statistics.median(r.cpu_s for r in runs)
    raw_s = median_ms(raw.total_ns) / 1e3
    middle = sorted(runs, key=lambda r: r.total_s)[len(runs) // 2]
    restart_s = sum(d for s, d in middle.steps if s.action == Action.RESTART.value)
    print(f"multi-server tomcat, lab CA: {nodes} nodes (1 publisher, {nodes - 1} "
          f"subscribers), {phones} phones, {ref.sans} SANs; {len(runs)} runbooks, "
          f"{len(raw.total_ns)} raw samples in {raw_batches} batches")
    print(f"  {'':44} {'median ms':>10}   spread / runs")
    for label, samples in (("raw: RSA-2048 keygen", raw.keygen_ns),
                           ("raw: CSR built and signed", raw.csr_ns),
                           ("raw: leaf built and signed (intermediate)", raw.cert_ns),
                           ("raw: all three (the baseline)", raw.total_ns)):
        print(f"  {label:44} {median_ms(samples):10.2f}   {spread_ms(samples)}")
    print(f"  {'runbook start() until done':44} {total * 1e3:10.2f}   "
          + " ".join(f"{r.total_s * 1e3:.0f}" for r in runs))
    print(f"  {'  its CPU time (process, every thread)':44} {cpu * 1e3:10.2f}   "
          + " ".join(f"{r.cpu_s * 1e3:.0f}" for r in runs))
    print(f"  breakdown of the median runbook ({middle.total_s * 1e3:.0f} ms) by step "
          "action; work: inside the step's handler; span: the step from recorded running "
          "to recorded done")
    print(f"    {'action':18} {'steps':>5} {'work ms':>8} {'span ms':>8} {'each ms':>8} "
          f"{'max ms':>7} {'share':>6}")
    spans: dict[str, list[float]] = defaultdict(list)
    works: dict[str, float] = defaultdict(float)
    for step, seconds in middle.steps:
        spans[step.action].append(seconds)
        works[step.action] += middle.work.get(step.n, 0.0)
    for action in Action:
        these = spans.get(action.value)
        if not these:
            continue
        print(f"    {action.value:18} {len(these):5} {works[action.value] * 1e3:8.1f} "
              f"{sum(these) * 1e3:8.1f} {statistics.mean(these) * 1e3:8.2f} "
              f"{max(these) * 1e3:7.2f} {sum(these) / middle.total_s:6.1%}")
    handlers = sum(middle.work.values())
    recording = middle.total_s - handlers
    print(f"    {'(recording)':18} {'':5} {'':8} {recording * 1e3:8.1f} {'':8} {'':7} "
          f"{recording / middle.total_s:6.1%}   all but the handlers: planning, storing "
          f"the runbook, per step re-reading it and two commits ({len(middle.steps)} steps)")
    print(f"    diagnostic: of the restart steps' {restart_s * 1e3:.1f} ms, "
          f"{middle.restart_calls_s * 1e3:.1f} ms inside the control's service.restart "
          "calls (stop, prepare, bind, save the load, audit)")
    print(f"  diagnostic: CPU time ÷ raw = {cpu / raw_s:.1f} (the machine's other load "
          "stretches the wall time, hardly this)")
    print(f"report: total ÷ raw cryptography = {total * 1e3:.0f} ms ÷ {raw_s * 1e3:.0f} ms "
          f"= {total / raw_s:.1f}")
    print(f"report: restart share = {restart_s * 1e3:.0f} ms ÷ {middle.total_s * 1e3:.0f} "
          f"ms = {restart_s / middle.total_s:.1%} ({len(spans[Action.RESTART.value])} "
          f"restarts; waiting on service.restart itself "
          f"{middle.restart_calls_s / middle.total_s:.1%})")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=20, help="nodes (default 20)")
    parser.add_argument("--phones", type=int, default=20, help="phones (default 20)")
    parser.add_argument("--runs", type=int, default=5, help="timed runbooks (default 5)")
    parser.add_argument("--raw", type=int, default=7,
                        help="raw samples per batch (default 7)")
    parser.add_argument("--profile", action="store_true",
                        help="one more runbook under cProfile; print its top functions")
    args = parser.parse_args()
    if not 2 <= args.nodes <= 250:
        parser.error("--nodes: 2 to 250")
    octet = os.getpid() % 250
    runs: list[Run] = []
    raw = Raw()
    profile = ""
    with tempfile.TemporaryDirectory(prefix="uccerts-bench-") as tmp:
        home = Path(tmp)
        settings = Settings(home=home, db_url=f"sqlite:///{home / 'u.db'}")
        served = build_services(settings, actor="bench", source="bench")  # serve's engine
        cli = build_services(settings, actor="bench", source="bench")  # the CLI's
        try:
            # ~100 self-signed identities: not what is measured (see _harness).
            setup = build_from_uow(served.ctx.uow, actor="bench", source="bench",
                                   keygen=_cached_keygen())
            setup.clusters.init(topology(args.nodes, args.phones, octet))
            LabCaService(settings, served.ctx.clock).init()
            with cli.ctx.read() as uow:
                nodes = uow.clusters.nodes(resolve_cluster(uow, cli.ctx.cluster).name)
            ref = reference(cli, settings)
            runtime = Runtime(served)
            try:
                runtime.start()
                raw_batch(ref, 2, Raw())  # warm-up
                for _ in range(max(args.runs, 1)):
                    raw_batch(ref, args.raw, raw)
                    runs.append(run_runbook(cli, settings, runtime, nodes))
                raw_batch(ref, args.raw, raw)
                if args.profile:
                    profile = profile_runbook(cli, settings, runtime, nodes)
            finally:
                runtime.stop()
            warnings = runtime.warnings
        finally:
            cli.dispose()
            served.dispose()
    report(runs, raw, ref, args.nodes, args.phones, len(runs) + 1)
    for warning in sorted(set(warnings))[:10]:
        print(f"  warning: {warning}")
    if profile:
        print(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
