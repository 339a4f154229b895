"""Bring a database to the current schema, programmatically (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, exc, text

from uccerts.errors import SystemFailure

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "head"
# Any constant shared by every uccerts process: two first starts against one empty
# PostgreSQL database must not both run CREATE TABLE.
_PG_LOCK_ID = 0x75636365  # "ucce"


def head_revision() -> str:
    """The newest revision: by convention a revision's id is its file's number prefix
    (``0001_initial.py`` is ``0001``), checked by the storage tests."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except exc.DBAPIError:
        return None  # no version table yet: a new database
    return str(row[0]) if row else None


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = HEAD) -> None:
    """Run pending migrations in one transaction; a no-op when already at ``revision``."""
    # Every command opens the store: at head, one SELECT instead of loading Alembic.
    if revision == HEAD and current_revision(engine) == head_revision():
        return
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                                   {"id": _PG_LOCK_ID})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except exc.DBAPIError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        raise SystemFailure(
            f"Cannot bring the database schema up to date: {reason}",
            code="migration-failed",
            fix="Check that the database user may create tables, and that no newer "
                "uccerts has already migrated this database",
        ) from err
    except CommandError as err:
        # Typically a revision this version does not know: a newer uccerts was here.
        raise SystemFailure(
            f"The database schema is not one this uccerts knows: {err}",
            code="migration-failed",
            fix="Upgrade uccerts to the version that last migrated this database",
        ) from err
