"""The running cluster: service loads, phones, trust files, and the cluster's CTL.

Revision 0002. Written out in full like 0001 (no imports from uccerts.storage.tables).
The new ``clusters.ctl_sha256`` column is nullable with no default, which SQLite adds
with a plain ALTER TABLE: no batch rebuild of ``clusters`` (a rebuild drops the table,
and with foreign keys on, SQLite would cascade that into every node).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = 255
SHORT = 64


def upgrade() -> None:
    op.add_column("clusters", sa.Column("ctl_sha256", sa.String(SHORT), nullable=True))
    op.create_table(
        "service_loads",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("node_id", sa.Integer, nullable=False),
        sa.Column("service", sa.String(NAME), nullable=False),
        sa.Column("state", sa.String(SHORT), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=True),
        sa.Column("sealed_key", sa.LargeBinary, nullable=True),
        sa.Column("snapshot", sa.LargeBinary, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_service_loads"),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], ondelete="CASCADE",
                                name="fk_service_loads_node_id_nodes"),
        sa.UniqueConstraint("node_id", "service", name="uq_service_loads_node_id_service"),
    )
    op.create_table(
        "phones",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("mac", sa.String(SHORT), nullable=False),
        sa.Column("tftp_node_id", sa.Integer, nullable=False),
        sa.Column("cm_node_id", sa.Integer, nullable=False),
        sa.Column("itl_sha256", sa.String(SHORT), nullable=True),
        sa.Column("ctl_sha256", sa.String(SHORT), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_phones"),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE",
                                name="fk_phones_cluster_id_clusters"),
        sa.ForeignKeyConstraint(["tftp_node_id"], ["nodes.id"], ondelete="CASCADE",
                                name="fk_phones_tftp_node_id_nodes"),
        sa.ForeignKeyConstraint(["cm_node_id"], ["nodes.id"], ondelete="CASCADE",
                                name="fk_phones_cm_node_id_nodes"),
        sa.UniqueConstraint("cluster_id", "mac", name="uq_phones_cluster_id_mac"),
    )
    op.create_table(
        "trust_files",
        sa.Column("sha256", sa.String(SHORT), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_trust_files"),
    )


def downgrade() -> None:
    for table in ("trust_files", "phones", "service_loads"):
        op.drop_table(table)
    op.drop_column("clusters", "ctl_sha256")
