"""Bring a database to the current schema, programmatically (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Engine, exc, text

from uccerts.errors import SystemFailure

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "head"
# Any constant shared by every uccerts process: two first starts against one empty
# PostgreSQL database must not both run CREATE TABLE.
_PG_LOCK_ID = 0x75636365  # "ucce"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = HEAD) -> None:
    """Run pending migrations in one transaction; a no-op when already at ``revision``."""
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
