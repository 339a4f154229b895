"""Migrations: the revision naming convention the fast path relies on, and the fast
path itself (a database at head is opened without loading Alembic)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from uccerts.storage.engine import make_engine
from uccerts.storage.migrate import MIGRATIONS, current_revision, head_revision, upgrade


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
