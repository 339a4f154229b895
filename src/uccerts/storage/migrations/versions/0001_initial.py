"""Initial schema: clusters, nodes, identities, CSRs, trust, audit, settings, accounts.

Revision 0001, the first. Written out in full (no imports from
uccerts.storage.tables): a migration is a snapshot of the schema at its time.
Constraint and index names follow tables.NAMING_CONVENTION.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NAME = 255
SHORT = 64


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _node_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_node_id_nodes")


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("domain", sa.String(NAME), nullable=False),
        sa.Column("security_mode", sa.Integer, nullable=False),
        sa.Column("sso_enabled", sa.Boolean, nullable=False),
        sa.Column("san_match", sa.String(SHORT), nullable=False),
        sa.Column("phone_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clusters"),
        sa.UniqueConstraint("name", name="uq_clusters_name"),
    )
    op.create_table(
        "nodes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("hostname", sa.String(NAME), nullable=False),
        sa.Column("hostname_key", sa.String(NAME), nullable=False),
        sa.Column("domain", sa.String(NAME), nullable=False),
        sa.Column("address", sa.String(NAME), nullable=False),
        sa.Column("role", sa.String(SHORT), nullable=False),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("ports", sa.Text, nullable=False),
        sa.Column("ws_orgunit", sa.String(NAME), nullable=False),
        sa.Column("ws_orgname", sa.String(NAME), nullable=False),
        sa.Column("ws_locality", sa.String(NAME), nullable=False),
        sa.Column("ws_state", sa.String(NAME), nullable=False),
        sa.Column("ws_country", sa.String(SHORT), nullable=False),
        sa.Column("ws_alternate_hostnames", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_nodes"),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], ondelete="CASCADE",
                                name="fk_nodes_cluster_id_clusters"),
        sa.UniqueConstraint("cluster_id", "hostname_key", name="uq_nodes_cluster_id_hostname_key"),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("node_id", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(SHORT), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("common_name", sa.String(NAME), nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("serial_hex", sa.String(SHORT * 2), nullable=False),
        sa.Column("not_before", _utc(), nullable=False),
        sa.Column("not_after", _utc(), nullable=False),
        sa.Column("sha256", sa.String(SHORT), nullable=False),
        sa.Column("distribution", sa.String(SHORT), nullable=False),
        sa.Column("filename", sa.String(NAME), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("sealed_key", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        _node_fk("identities"),
        sa.UniqueConstraint("node_id", "purpose", name="uq_identities_node_id_purpose"),
    )
    for column in ("common_name", "serial_hex", "not_after", "sha256"):
        op.create_index(f"ix_identities_{column}", "identities", [column])
    op.create_table(
        "csrs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("node_id", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(SHORT), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("distribution", sa.String(SHORT), nullable=False),
        sa.Column("common_name", sa.String(NAME), nullable=False),
        sa.Column("sans", sa.Text, nullable=False),
        sa.Column("key_type", sa.String(SHORT), nullable=False),
        sa.Column("key_length", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(SHORT), nullable=False),
        sa.Column("node_list", sa.Text, nullable=False),
        sa.Column("created", _utc(), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_csrs"),
        _node_fk("csrs"),
        sa.UniqueConstraint("node_id", "purpose", name="uq_csrs_node_id_purpose"),
    )
    op.create_table(
        "trust",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("node_id", sa.Integer, nullable=False),
        sa.Column("store", sa.String(SHORT), nullable=False),
        sa.Column("filename", sa.String(NAME), nullable=False),
        sa.Column("filename_key", sa.String(NAME), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("subject_cn", sa.Text(), nullable=False),
        sa.Column("subject_hash", sa.String(SHORT), nullable=False),
        sa.Column("serial_hex", sa.String(SHORT * 2), nullable=False),
        sa.Column("not_before", _utc(), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("added", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trust"),
        _node_fk("trust"),
        sa.UniqueConstraint("node_id", "store", "filename_key",
                            name="uq_trust_node_id_store_filename_key"),
    )
    op.create_index("ix_trust_subject", "trust", ["node_id", "store", "subject_hash"])
    op.create_index("ix_trust_cn", "trust", ["node_id", "store", "subject_cn"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(NAME), nullable=False),
        sa.Column("source", sa.String(SHORT), nullable=False),
        sa.Column("cluster", sa.String(NAME), nullable=False),
        sa.Column("node", sa.String(NAME), nullable=False),
        sa.Column("purpose", sa.String(SHORT), nullable=False),
        sa.Column("action", sa.String(NAME), nullable=False),
        sa.Column("outcome", sa.String(SHORT), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_cluster", "audit", ["cluster"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(NAME), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(NAME), nullable=False),
        sa.Column("role", sa.String(SHORT), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
    )


def downgrade() -> None:
    for table in ("accounts", "settings", "audit", "trust", "csrs", "identities", "nodes",
                  "clusters"):
        op.drop_table(table)
