"""Build the SQLAlchemy engine: SQLite by default, PostgreSQL by URL.

SQLite is tuned for several processes (CLI, web, SSH shell) sharing one file:

- WAL journal, so readers never block the writer and the writer never blocks readers;
- ``foreign_keys=ON``, which SQLite leaves off per connection;
- a 30-second busy timeout, so a short write elsewhere makes us wait, not fail;
- ``BEGIN IMMEDIATE`` for every transaction. pysqlite would otherwise start a
  transaction lazily at the first write; a unit of work that read first would then
  try to upgrade its read lock and fail at once with "database is locked" (the busy
  timeout does not apply to that upgrade). Taking the write lock at BEGIN makes
  writers queue instead. This is the event-hook recipe of SQLAlchemy's SQLite docs.

Both engines hide statement parameters from error texts and logs: they carry sealed
keys and password hashes.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from uccerts.errors import SystemFailure
from uccerts.storage.permissions import PRIVATE_DIR, create_private_file

BUSY_TIMEOUT_S = 30
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise SystemFailure(
            f"The database URL {mask_url(url)} is not a valid URL",
            code="database-url-invalid",
            fix="Set UCCERTS_DB to sqlite:///path/to/uccerts.db or "
                "postgresql+psycopg://user:password@host:5432/dbname",
        ) from err
    if parsed.drivername in ("postgresql", "postgres"):
        # Only psycopg 3 is a dependency; SQLAlchemy's default would be psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL (None: not SQLite, or in memory)."""
    url = url if isinstance(url, URL) else _parse(url)
    if url.get_backend_name() != "sqlite":
        return None
    return _sqlite_file(url)


def _sqlite_file(url: URL) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Hand transaction control to SQLAlchemy (see the "begin" hook below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    finally:
        cursor.close()


READ_ONLY = "uccerts_read_only"


def _on_sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front (a deferred transaction that reads, then
    # writes, fails at once with "database is locked" instead of waiting); readers
    # take none, so WAL lets them run beside a writer.
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _build(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            try:
                path = path.expanduser()
                path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
                create_private_file(path)
            except OSError as err:
                raise SystemFailure(
                    f"Cannot create the folder of the database {mask_url(url)}: "
                    f"{err.strerror}",
                    code="database-unavailable",
                    fix="Check the path in UCCERTS_DB and the permissions of its folder",
                ) from err
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S},
                               hide_parameters=True)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    # Pre-ping: a PostgreSQL restart must not surface as a failed user command.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``, checked by one connection; failures are ``SystemFailure``."""
    parsed = _parse(url)
    try:
        engine = _build(parsed)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as err:
        raise SystemFailure(
            f"The database URL {mask_url(parsed)} names an unsupported database",
            code="database-url-invalid",
            fix="Use sqlite:///path/to/uccerts.db or postgresql+psycopg://…",
        ) from err
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as err:
        engine.dispose()
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        raise SystemFailure(
            f"Cannot connect to the database {mask_url(parsed)}: {reason}",
            code="database-unavailable",
            fix=_connect_fix(parsed),
        ) from err
    return engine


def _connect_fix(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return ("Check that the database file is readable and writable by this user "
                "and that its folder exists (set UCCERTS_DB to change it)")
    return ("Check that PostgreSQL is running and reachable at that host and port, "
            "and that the user, password and database name in UCCERTS_DB are right")
