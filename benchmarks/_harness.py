"""What the service benchmarks share: a throw-away home, a demo cluster, timing.

Not a benchmark itself (the leading underscore): ``csr_generation.py`` and
``upload_validation.py`` import it from their own folder.

A home is a fresh temporary folder with a SQLite database, or, with ``--db URL``,
a PostgreSQL database in which a schema of our own is created for the run (the
connection's ``search_path`` points at it) and dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from uccerts.bootstrap import Services, build_from_uow, build_services
from uccerts.config import Settings
from uccerts.domain.keys import PrivateKey, generate_key
from uccerts.domain.purposes import KeyType

# The demo cluster (a publisher, a subscriber, an IM and Presence node), renamed.
TOPOLOGY = (Path(__file__).resolve().parent.parent / "demo" / "lab.toml").read_text(
    encoding="utf-8").replace('name = "lab"', 'name = "bench"', 1)
NODE = "cucm-pub"


def parse_args(doc: str | None, runs: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--db", metavar="URL", default=None,
                        help="also run on this PostgreSQL database (a schema of its own "
                             "is created and dropped), e.g. postgresql+psycopg://user@host/db")
    parser.add_argument("--runs", type=int, default=runs,
                        help=f"timed iterations per side (default {runs})")
    return parser.parse_args()


@contextmanager
def _postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema in the database at ``url``; yields a URL whose connections use it."""
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass(frozen=True)
class Bench:
    services: Services  # from ``build_services``, the application's composition root
    settings: Settings  # where they live (for setup that bypasses the services)


@contextmanager
def bench_services(db_url: str | None) -> Iterator[Bench]:
    """Services over a new home (SQLite in a temporary folder, or a PostgreSQL schema),
    with the demo cluster created. The services make keys the production way
    (``generate_key``); only cluster creation takes its keys from a small cache."""
    with tempfile.TemporaryDirectory(prefix="uccerts-bench-") as tmp:
        home = Path(tmp)
        if db_url is None:
            yield from _with_services(Settings(home=home, db_url=f"sqlite:///{home / 'u.db'}"))
        else:
            with _postgres_schema(db_url) as scoped:
                yield from _with_services(Settings(home=home, db_url=scoped))


def _with_services(settings: Settings) -> Iterator[Bench]:
    services = build_services(settings, actor="bench", source="bench")
    try:
        # Cluster creation makes ~20 self-signed identities: not what is measured, so
        # its keys come from a cache instead of 20 RSA key generations.
        setup = build_from_uow(services.ctx.uow, actor="bench", source="bench",
                               keygen=_cached_keygen())
        setup.clusters.init(TOPOLOGY)
        yield Bench(services, settings)
    finally:
        services.dispose()


def _cached_keygen() -> Callable[[KeyType, int], PrivateKey]:
    keys: dict[tuple[KeyType, int], PrivateKey] = {}

    def keygen(key_type: KeyType, length: int) -> PrivateKey:
        if (key_type, length) not in keys:
            keys[key_type, length] = generate_key(key_type, length)
        return keys[key_type, length]

    return keygen


def backend_name(db_url: str | None) -> str:
    return "SQLite" if db_url is None else "PostgreSQL"


def median_ms(samples_ns: list[int]) -> float:
    return statistics.median(samples_ns) / 1e6


def spread_ms(samples_ns: list[int]) -> str:
    """The interquartile range, to show how noisy a median is."""
    q = statistics.quantiles(samples_ns, n=4)
    return f"IQR {q[0] / 1e6:.3f}–{q[2] / 1e6:.3f}"
