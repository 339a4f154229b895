"""API tokens in their own table (they were JSON in ``settings`` rows).

Revision 0004. Written out in full like 0001 (no imports from uccerts.storage.tables).
Upgrade creates ``api_tokens`` and moves each ``api-token:<sha256>`` settings row into
it; downgrade moves them back and drops the table. A settings row whose JSON cannot be
read was never a usable token (the old code refused it): it is left where it is.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = 255
SHORT = 64
KEY_PREFIX = "api-token:"

_settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.LargeBinary))


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _tokens() -> Any:
    return sa.table("api_tokens", sa.column("sha256", sa.String),
                    sa.column("owner", sa.String), sa.column("name", sa.String),
                    sa.column("created", _utc()), sa.column("expires", _utc()),
                    sa.column("revoked", sa.Boolean))


def _moment(text: object) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _row(key: str, value: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(bytes(value))
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    created, expires = _moment(record.get("created")), _moment(record.get("expires"))
    sha256 = key[len(KEY_PREFIX):]
    if created is None or expires is None or not sha256 or len(sha256) > SHORT:
        return None
    return {"sha256": sha256, "owner": str(record.get("user", ""))[:NAME],
            "name": str(record.get("description", ""))[:NAME], "created": created,
            "expires": expires, "revoked": bool(record.get("revoked"))}


def _iso(moment: dt.datetime) -> str:
    utc = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(SHORT), nullable=False),
        sa.Column("owner", sa.String(NAME), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("created", _utc(), nullable=False),
        sa.Column("expires", _utc(), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("sha256", name="uq_api_tokens_sha256"),
    )
    conn = op.get_bind()
    found = conn.execute(sa.select(_settings.c.key, _settings.c.value)
                         .where(_settings.c.key.startswith(KEY_PREFIX))).all()
    moved = [(key, row) for key, value in found if (row := _row(key, value)) is not None]
    if moved:
        conn.execute(_tokens().insert(), [row for _, row in moved])
        conn.execute(_settings.delete().where(_settings.c.key.in_([k for k, _ in moved])))


def downgrade() -> None:
    conn = op.get_bind()
    tokens = _tokens()
    rows = conn.execute(sa.select(tokens)).all()
    if rows:
        conn.execute(_settings.insert(), [
            {"key": KEY_PREFIX + r.sha256,
             "value": json.dumps({"user": r.owner, "created": _iso(r.created),
                                  "expires": _iso(r.expires), "description": r.name,
                                  "revoked": bool(r.revoked)}).encode()}
            for r in rows])
    op.drop_table("api_tokens")
