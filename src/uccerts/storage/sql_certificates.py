"""Identity certificates with their sealed keys, pending CSRs and trust-store files
over SQLAlchemy Core.
"""

from __future__ import annotations

import builtins
from typing import Any

from cryptography import x509
from sqlalchemy import (
    bindparam,
    select,
)

from uccerts.domain.model import (
    Identity,
    PendingCsr,
    TrustEntry,
)
from uccerts.errors import Refused, UccertsError
from uccerts.storage import tables as t
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql_tx import (
    PUBLISHER_FIRST,
    Tx,
    on_node_bound,
    on_node_id,
    on_nodes,
    seal_context,
)


class SqlIdentityRepo:
    def __init__(self, tx: Tx, sealer: Sealer) -> None:
        self._tx, self._sealer = tx, sealer

    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> Identity | None:
        row = self._tx.execute(on_nodes(t.identities, cluster, node)
                               .where(t.identities.c.purpose == purpose)).first()
        if row is None:
            return None
        if not with_key:
            return t.identity_from_row(row, None)
        ctx = seal_context("identity", cluster, row.hostname, purpose)
        return t.identity_from_row(row, self._sealer.open_key(row.sealed_key, ctx))

    def list(self, cluster: str, node: str | None = None) -> builtins.list[Identity]:
        rows = self._tx.execute(on_nodes(t.identities, cluster, node)
                                .order_by(PUBLISHER_FIRST, t.nodes.c.id, t.identities.c.purpose))
        return [t.identity_from_row(r, None) for r in rows]

    def put(self, cluster: str, identity: Identity) -> None:
        if identity.key is None:
            raise UccertsError("An identity is stored with its private key",
                               code="identity-key-required")
        nid = self._tx.node_id(cluster, identity.node, lock=True)
        sealed = self._sealer.seal_key(identity.key, seal_context(
            "identity", cluster, identity.node, identity.purpose))
        values = t.identity_values(identity, sealed)
        where = (t.identities.c.node_id == nid) & (t.identities.c.purpose == identity.purpose)
        if self._tx.execute(t.identities.update().where(where).values(**values)).rowcount == 0:
            self._tx.execute(t.identities.insert().values(node_id=nid, **values))


# The reads of an upload's verdict, built once (see on_node_bound), by node name, and
# by node id when the transaction already read it (Tx.known_node_id).
_BY_PURPOSE = t.csrs.c.purpose == bindparam("purpose")
_CSR_OF = on_node_bound(t.csrs).where(_BY_PURPOSE)
_CSR_OF_ID = on_node_id(t.csrs).where(_BY_PURPOSE)
_BY_SUBJECT = (t.trust.c.store == bindparam("store"),
               t.trust.c.subject_hash == bindparam("subject"))
_TRUST_BY_SUBJECT = on_node_bound(t.trust).where(*_BY_SUBJECT).order_by(t.trust.c.id)
_TRUST_BY_SUBJECT_ID = on_node_id(t.trust).where(*_BY_SUBJECT).order_by(t.trust.c.id)


def _node_params(tx: Tx, cluster: str, node: str) -> dict[str, Any]:
    nid = tx.known_node_id(cluster, node)
    return {"nid": nid} if nid is not None else {"cluster": cluster, "node": node.lower()}


class SqlCsrRepo:
    def __init__(self, tx: Tx, sealer: Sealer) -> None:
        self._tx, self._sealer = tx, sealer

    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> PendingCsr | None:
        where = _node_params(self._tx, cluster, node)
        row = self._tx.execute(_CSR_OF_ID if "nid" in where else _CSR_OF,
                               params={**where, "purpose": purpose}).first()
        if row is None:
            return None
        if not with_key:
            return t.csr_from_row(row, None)
        ctx = seal_context("csr", cluster, row.hostname, purpose)
        return t.csr_from_row(row, self._sealer.open_key(row.sealed_key, ctx))

    def list(self, cluster: str, node: str | None = None) -> builtins.list[PendingCsr]:
        rows = self._tx.execute(on_nodes(t.csrs, cluster, node)
                                .order_by(PUBLISHER_FIRST, t.nodes.c.id, t.csrs.c.purpose))
        return [t.csr_from_row(r, None) for r in rows]

    def put(self, cluster: str, csr: PendingCsr) -> bool:
        if csr.key is None:
            raise UccertsError("A pending CSR is stored with its private key",
                               code="csr-key-required")
        # The node lock makes update-else-insert safe against a concurrent put.
        nid = self._tx.node_id(cluster, csr.node, lock=True)
        sealed = self._sealer.seal_key(csr.key, seal_context(
            "csr", cluster, csr.node, csr.purpose))
        values = t.csr_values(csr, sealed)
        where = (t.csrs.c.node_id == nid) & (t.csrs.c.purpose == csr.purpose)
        if self._tx.execute(t.csrs.update().where(where).values(**values)).rowcount:
            return True
        self._tx.execute(t.csrs.insert().values(node_id=nid, **values))
        return False

    def delete(self, cluster: str, node: str, purpose: str) -> bool:
        nid = self._tx.node_id(cluster, node, lock=True)
        done = self._tx.execute(t.csrs.delete().where(t.csrs.c.node_id == nid,
                                                      t.csrs.c.purpose == purpose))
        return bool(done.rowcount)


class SqlTrustRepo:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def list(self, cluster: str, node: str | None = None, store: str | None = None
             ) -> builtins.list[TrustEntry]:
        stmt = on_nodes(t.trust, cluster, node)
        if store is not None:
            stmt = stmt.where(t.trust.c.store == store)
        rows = self._tx.execute(stmt.order_by(PUBLISHER_FIRST, t.nodes.c.id, t.trust.c.store,
                                              t.trust.c.filename_key))
        return [t.trust_from_row(r) for r in rows]

    def _in_store(self, cluster: str, node: str, store: str) -> Any:
        return on_nodes(t.trust, cluster, node).where(t.trust.c.store == store)

    def get(self, cluster: str, node: str, store: str, filename: str) -> TrustEntry | None:
        row = self._tx.execute(self._in_store(cluster, node, store)
                               .where(t.trust.c.filename_key == filename.lower())).first()
        return t.trust_from_row(row) if row else None

    def by_common_name(self, cluster: str, node: str, store: str, cn: str
                       ) -> TrustEntry | None:
        row = self._tx.execute(self._in_store(cluster, node, store)
                               .where(t.trust.c.subject_cn == cn)
                               .order_by(t.trust.c.id)).first()
        return t.trust_from_row(row) if row else None

    def by_subject(self, cluster: str, node: str, store: str, subject: x509.Name
                   ) -> builtins.list[TrustEntry]:
        where = _node_params(self._tx, cluster, node)
        rows = self._tx.execute(_TRUST_BY_SUBJECT_ID if "nid" in where else _TRUST_BY_SUBJECT,
                                params={**where, "store": store,
                                        "subject": t.subject_key(subject)})
        return [t.trust_from_row(r) for r in rows]

    def filenames(self, cluster: str, node: str, store: str) -> set[str]:
        stmt = (select(t.trust.c.filename).select_from(t.trust.join(t.nodes).join(t.clusters))
                .where(t.clusters.c.name == cluster, t.nodes.c.hostname_key == node.lower(),
                       t.trust.c.store == store))
        return set(self._tx.execute(stmt).scalars())

    def add(self, cluster: str, entry: TrustEntry) -> None:
        nid = self._tx.node_id(cluster, entry.node, lock=True)
        taken = Refused(f"{entry.filename} already exists in {entry.store} of {entry.node}",
                        code="trust-file-exists",
                        fix="Delete the existing file first, or store under another name")
        self._tx.execute(t.trust.insert().values(node_id=nid, **t.trust_values(entry)),
                         conflict=taken)

    def delete(self, cluster: str, node: str, store: str, filename: str) -> bool:
        nid = self._tx.node_id(cluster, node, lock=True)
        done = self._tx.execute(t.trust.delete().where(
            t.trust.c.node_id == nid, t.trust.c.store == store,
            t.trust.c.filename_key == filename.lower()))
        return bool(done.rowcount)
