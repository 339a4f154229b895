"""Alembic environment for uccerts, run only through ``uccerts.storage.migrate``.

There is no alembic.ini: ``migrate.upgrade`` builds the Config in code and hands
over an open connection in ``config.attributes["connection"]``, inside the
transaction it manages (so the upgrade is all or nothing, on SQLite too).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from uccerts.storage.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "uccerts migrations run through uccerts.storage.migrate.upgrade(engine), "
        "not the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds tables for later revisions.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
