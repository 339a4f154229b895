"""make_engine: SQLite tuning, URL handling and connection failures."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from uccerts.bootstrap import build_services
from uccerts.config import Settings
from uccerts.errors import SystemFailure
from uccerts.storage.engine import make_engine, mask_url
from uccerts.storage.migrate import upgrade


def test_sqlite_is_tuned_and_its_folder_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "uccerts.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    finally:
        engine.dispose()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    try:
        upgrade(engine)
        with pytest.raises(exc.IntegrityError, match="FOREIGN KEY"), engine.begin() as conn:
            conn.execute(text("INSERT INTO nodes (cluster_id, hostname, hostname_key, domain, "
                              "address, role, services, ports, ws_orgunit, ws_orgname, "
                              "ws_locality, ws_state, ws_country, ws_alternate_hostnames) "
                              "VALUES (99, 'a', 'a', '', '', 'publisher', '[]', '[]', '', "
                              "'', '', '', '', '[]')"))
    finally:
        engine.dispose()


def test_sqlite_transactions_begin_immediate(tmp_path: Path) -> None:
    """A transaction that has only read already holds the write lock."""
    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    try:
        upgrade(engine)
        with engine.connect() as first, engine.connect() as second:
            first.execute(text("SELECT 1"))
            raw = second.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout = 0")  # past SQLAlchemy: no BEGIN for this
            with pytest.raises(exc.OperationalError, match="locked"):
                second.execute(text("SELECT 1"))
            first.rollback()
            second.rollback()
    finally:
        engine.dispose()


def test_unreachable_postgresql_is_a_system_failure_with_masked_password() -> None:
    url = "postgresql+psycopg://admin:s3cret-pw@127.0.0.1:1/uccerts?connect_timeout=3"
    with pytest.raises(SystemFailure) as err:
        make_engine(url)
    assert err.value.code == "database-unavailable"
    assert "127.0.0.1:1" in err.value.message and "***" in err.value.message
    assert "s3cret-pw" not in str(err.value.to_dict())
    assert err.value.fix and "PostgreSQL is running" in err.value.fix


def test_plain_postgresql_scheme_uses_psycopg3() -> None:
    with pytest.raises(SystemFailure) as err:
        make_engine("postgresql://u:pw@127.0.0.1:1/db?connect_timeout=3")
    assert "postgresql+psycopg://" in err.value.message


def test_unopenable_sqlite_file_is_a_system_failure(tmp_path: Path) -> None:
    (tmp_path / "a-folder.db").mkdir()
    with pytest.raises(SystemFailure) as err:
        make_engine(f"sqlite:///{tmp_path / 'a-folder.db'}")
    assert err.value.code == "database-unavailable" and err.value.fix


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y"])
def test_bad_urls_are_system_failures(url: str) -> None:
    with pytest.raises(SystemFailure) as err:
        make_engine(url)
    assert err.value.code == "database-url-invalid" and err.value.fix


def test_mask_url() -> None:
    assert mask_url("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_home_and_its_database_files_are_private(tmp_path: Path) -> None:
    # They hold password and token hashes and the audit trail; they were 0644 in 0755.
    old = os.umask(0o022)
    try:
        home = tmp_path / "home"
        path = home / "uccerts.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
            with engine.connect() as conn:  # a reader beside the pool: -wal and -shm exist
                conn.execute(text("SELECT 1")).scalar()
                assert _mode(home) == 0o700
                for name in ("uccerts.db", "uccerts.db-wal", "uccerts.db-shm"):
                    assert _mode(home / name) == 0o600, name
        finally:
            engine.dispose()
    finally:
        os.umask(old)


def test_uccerts_warns_once_when_the_home_or_database_is_readable_by_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "wide"
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'uccerts.db'}")
    build_services(settings).dispose()
    assert capsys.readouterr().err == ""  # created private: nothing to say
    home.chmod(0o755)
    (home / "uccerts.db").chmod(0o644)
    build_services(settings).dispose()
    build_services(settings).dispose()
    err = capsys.readouterr().err
    assert err.count(f"{home} is open to other users (mode 0755)") == 1
    assert err.count(f"{home / 'uccerts.db'} is open to other users (mode 0644)") == 1
    assert f"chmod 600 {home / 'uccerts.db'}" in err and f"chmod 700 {home}" in err
