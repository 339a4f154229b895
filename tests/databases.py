"""Real databases for tests: a migrated empty SQLite file, or a PostgreSQL schema of
its own (``UCCERTS_TEST_PG_URL``), dropped afterwards so tests can run in parallel."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from uccerts.storage.engine import make_engine
from uccerts.storage.migrate import upgrade

PG_URL = os.environ.get("UCCERTS_TEST_PG_URL", "")


@dataclass
class Database:
    backend: str  # "sqlite" | "postgresql"
    url: str
    engine: Engine
    path: Path | None = None  # the SQLite file


@contextmanager
def open_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated empty database of ``backend``; its engine is disposed on exit."""
    if backend == "sqlite":
        path = tmp_path / "db" / "uccerts.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        try:
            upgrade(engine)
            yield Database(backend, url, engine, path)
        finally:
            engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:20]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url_text = (make_url(PG_URL)
                    .update_query_dict({"options": f"-csearch_path={schema}"})
                    .render_as_string(hide_password=False))
        engine = make_engine(url_text)
        try:
            upgrade(engine)
            yield Database(backend, url_text, engine)
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
