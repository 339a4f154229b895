"""Regeneration runbooks (domain.md §10) and their steps.

Revision 0003. Written out in full like 0001 (no imports from uccerts.storage.tables).
Two new tables only: nothing existing is altered, so SQLite needs no batch rebuild.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME = 255
SHORT = 64


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runbooks",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(SHORT), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("state", sa.String(SHORT), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created", _utc(), nullable=False),
        sa.Column("updated", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runbooks"),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE",
                                name="fk_runbooks_cluster_id_clusters"),
    )
    op.create_index("ix_runbooks_cluster_id_state", "runbooks", ["cluster_id", "state"])
    op.create_table(
        "runbook_steps",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("runbook_id", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("node", sa.String(NAME), nullable=False),
        sa.Column("action", sa.String(NAME), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("service", sa.String(NAME), nullable=False),
        sa.Column("state", sa.String(SHORT), nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("started", _utc(), nullable=True),
        sa.Column("finished", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runbook_steps"),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbooks.id"], ondelete="CASCADE",
                                name="fk_runbook_steps_runbook_id_runbooks"),
        sa.UniqueConstraint("runbook_id", "n", name="uq_runbook_steps_runbook_id_n"),
    )


def downgrade() -> None:
    op.drop_table("runbook_steps")
    op.drop_index("ix_runbooks_cluster_id_state", table_name="runbooks")
    op.drop_table("runbooks")
