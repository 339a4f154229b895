"""Migrations: the revision naming convention the fast path relies on, the fast path
itself (a database at head is opened without loading Alembic), and the data moves of
revisions that reshape stored rows (0004: API tokens), on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, column, select, table, text

from databases import Database
from uccerts.storage.engine import make_engine
from uccerts.storage.migrate import (
    MIGRATIONS,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql import SqlStore


def test_each_revision_id_is_its_file_number() -> None:
    files = sorted((MIGRATIONS / "versions").glob("[0-9]*_*.py"))
    assert files
    for path in files:
        tree = ast.parse(path.read_text())
        ids = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
               for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value,
                                                                               ast.Constant)}
        assert ids["revision"] == path.name.split("_", 1)[0], path.name


def test_a_database_at_head_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    engine = make_engine(url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    probe = ("import sys\n"
             "from uccerts.storage.engine import make_engine\n"
             "from uccerts.storage.migrate import upgrade\n"
             f"e = make_engine({url!r}); upgrade(e); e.dispose()\n"
             "print('alembic' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


def _to(engine: Engine, revision: str, *, down: bool = False) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


TOKEN_ROWS = {
    "api-token:" + "ab" * 32: {"user": "admin", "created": "2030-01-01T00:00:00Z",
                               "expires": "2030-01-02T00:00:00Z",
                               "description": "nightly", "revoked": False},
    "api-token:" + "cd" * 32: {"user": "viewer", "created": "2030-01-01T00:00:00Z",
                               "expires": "2031-01-01T00:00:00Z", "description": "",
                               "revoked": True},
}


def test_0004_moves_api_tokens_out_of_settings_and_back(sql_db: Database) -> None:
    """Tokens stored by 0003 (JSON in settings rows) become api_tokens rows; other
    settings and unreadable rows stay; downgrade puts them back as they were."""
    engine = sql_db.engine
    _to(engine, "0003", down=True)
    settings = table("settings", column("key"), column("value"))
    other = {"backup-running/lab": b"1", "api-token:" + "ee" * 32: b"not json"}
    with engine.begin() as conn:
        conn.execute(settings.insert(), [{"key": k, "value": json.dumps(v).encode()}
                                         for k, v in TOKEN_ROWS.items()]
                     + [{"key": k, "value": v} for k, v in other.items()])
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        left = dict(conn.execute(select(settings.c.key, settings.c.value)).all())
        rows = {r.sha256: r for r in conn.execute(text(
            "SELECT sha256, owner, name, created, expires, revoked FROM api_tokens"))}
    assert {k: bytes(v) for k, v in left.items()} == other
    assert set(rows) == {"ab" * 32, "cd" * 32}
    first = rows["ab" * 32]
    assert (first.owner, first.name, bool(first.revoked)) == ("admin", "nightly", False)
    assert bool(rows["cd" * 32].revoked) is True
    store = SqlStore(engine, Sealer(bytes(32)))
    with store.uow() as uow:
        token = uow.tokens.get("ab" * 32)
    assert token is not None
    assert token.expires == dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    _to(engine, "0003", down=True)
    with engine.connect() as conn:
        back = {k: bytes(v) for k, v in conn.execute(select(settings.c.key,
                                                             settings.c.value)).all()}
    assert {k: v for k, v in back.items() if k not in other} == {
        k: json.dumps(v).encode() for k, v in TOKEN_ROWS.items()}
    assert {k: back[k] for k in other} == other
    upgrade(engine)  # and forward again
    assert current_revision(engine) == head_revision()
