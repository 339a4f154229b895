"""The transaction of one SQL unit of work, shared by every repository module.

One ``Tx`` is one connection and one transaction, begun lazily at the first statement.
Driver errors are translated here, once: an expected conflict becomes ``Refused`` with
its own code, any other ``IntegrityError`` ``Refused`` (code ``conflict``), anything
else from the driver ``SystemFailure``. Also the small query helpers the repositories
share (node joins, the publisher-first order, sealing contexts).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    Select,
    bindparam,
    case,
    exc,
    select,
)

from uccerts.domain.purposes import Role
from uccerts.errors import InvalidInput, NotFound, Refused, SystemFailure
from uccerts.storage import tables as t
from uccerts.storage.engine import READ_ONLY


def seal_context(kind: str, cluster: str, node: str, purpose: str) -> str:
    """What a sealed key is bound to: a blob moved to another row will not open."""
    return f"{kind}/{cluster}/{node.lower()}/{purpose}"


def _reason(err: exc.DBAPIError) -> str:
    # First line only: later lines of a driver message may echo statement parameters.
    text = str(err.orig).strip() if err.orig is not None else ""
    return text.splitlines()[0] if text else type(err).__name__


class Tx:
    """The connection of one unit of work; every statement goes through ``execute``."""

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: Connection | None = None
        # Node rows locked in this transaction, by (cluster, host name key): a lock holds
        # until the transaction ends, so the id need not be looked up (or locked) again.
        self._locked: dict[tuple[str, str], int] = {}
        # Node ids this transaction has read (ClusterRepo.nodes), by the same key: the
        # hot reads that follow (a pending CSR, the issuer look-ups) then filter by id,
        # with no join on names. Forgotten at any write (a node may have gone or come
        # back under a new id) and when the transaction ends.
        self._seen: dict[tuple[str, str], int] = {}

    @contextmanager
    def _translated(self, conflict: Refused | None = None) -> Iterator[None]:
        try:
            yield
        except exc.IntegrityError as err:
            raise (conflict or Refused(f"The change conflicts with stored data: {_reason(err)}",
                                       code="conflict")) from err
        except exc.DataError as err:
            # A value the column cannot hold (too long, out of range): the input's fault.
            raise InvalidInput(f"A value does not fit the database: {_reason(err)}",
                               code="value-too-large",
                               fix="Shorten the name or lower the number") from err
        except exc.DBAPIError as err:
            busy = "locked" in _reason(err) or "busy" in _reason(err)
            raise SystemFailure(
                f"The database failed: {_reason(err)}",
                code="database-busy" if busy else "database-error",
                fix="Another uccerts process held the database too long; try again"
                    if busy else "Check that the database is reachable and not full",
            ) from err

    def connection(self) -> Connection:
        if self._conn is None:
            with self._translated():
                conn = self._engine.connect()
                self._conn = (conn.execution_options(**{READ_ONLY: True})
                              if self._read_only else conn)
        return self._conn

    @property
    def is_postgresql(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def execute(self, stmt: Executable, conflict: Refused | None = None, *,
                params: builtins.list[dict[str, Any]] | dict[str, Any] | None = None
                ) -> CursorResult[Any]:
        """Run ``stmt`` (with ``params``' bound values; a list of dicts runs it once per
        dict, as one executemany); with
        ``conflict``, inside a savepoint so the unit stays usable."""
        conn = self.connection()
        if not isinstance(stmt, Select):
            self._seen.clear()
        with self._translated(conflict):
            if conflict is None:
                return conn.execute(stmt, params)
            with conn.begin_nested():
                return conn.execute(stmt, params)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """All of the block or none of it, leaving the unit of work usable either way."""
        conn = self.connection()
        with self._translated(), conn.begin_nested():
            yield

    def commit(self) -> None:
        self._locked.clear()
        self._seen.clear()
        if self._conn is not None and self._conn.in_transaction():
            with self._translated():
                self._conn.commit()

    def rollback(self) -> None:
        self._locked.clear()
        self._seen.clear()
        if self._conn is not None and self._conn.in_transaction():
            with self._translated():
                self._conn.rollback()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self.rollback()
            finally:
                self._conn.close()
                self._conn = None

    def remember_nodes(self, cluster: str, ids: Iterator[tuple[str, int]]) -> None:
        """Note the ids of ``cluster``'s nodes, by host name key, as just read."""
        self._seen.update(((cluster, key), nid) for key, nid in ids)

    def known_node_id(self, cluster: str, node: str) -> int | None:
        """The node's id if this transaction already holds it (locked or read), else None."""
        key = (cluster, node.lower())
        return self._locked.get(key) or self._seen.get(key)

    def cluster_id(self, name: str) -> int:
        cid = self.execute(select(t.clusters.c.id).where(t.clusters.c.name == name)).scalar()
        if cid is None:
            raise NotFound(f"Cluster {name} does not exist", code="cluster-not-found")
        return int(cid)

    def node_id(self, cluster: str, node: str, *, lock: bool = False) -> int:
        held = self._locked.get((cluster, node.lower()))
        if held is not None:
            return held
        stmt = (select(t.nodes.c.id).join(t.clusters)
                .where(t.clusters.c.name == cluster, t.nodes.c.hostname_key == node.lower()))
        if lock:
            stmt = stmt.with_for_update(of=t.nodes)
        nid = self.execute(stmt).scalar()
        if nid is None:
            self.cluster_id(cluster)  # the better error when the cluster is what is missing
            raise NotFound(f"Node {node} is not in cluster {cluster}", code="node-not-found")
        if lock:
            self._locked[(cluster, node.lower())] = int(nid)
        return int(nid)


# Listings follow ClusterRepo.nodes(): publisher first, then the order nodes were added.
PUBLISHER_FIRST = case((t.nodes.c.role == Role.PUBLISHER.value, 0), else_=1)


def on_node_bound(table: Any) -> Any:
    """``table`` joined to its node and cluster, filtered by the bound parameters
    ``cluster`` and ``node`` (lower-cased hostname): built once at import, so a hot
    read builds no expression per call (SQLAlchemy caches the compiled form)."""
    return (select(table, t.nodes.c.hostname).join(t.nodes, table.c.node_id == t.nodes.c.id)
            .join(t.clusters).where(t.clusters.c.name == bindparam("cluster"),
                                    t.nodes.c.hostname_key == bindparam("node")))


def on_node_id(table: Any) -> Any:
    """``table``'s rows of the node whose id is the bound parameter ``nid``, with its
    host name (a primary-key join)."""
    return (select(table, t.nodes.c.hostname).join(t.nodes, table.c.node_id == t.nodes.c.id)
            .where(table.c.node_id == bindparam("nid")))


def on_nodes(table: Any, cluster: str, node: str | None) -> Any:
    """``table`` joined to its node and cluster, filtered to ``cluster`` (and ``node``)."""
    stmt = (select(table, t.nodes.c.hostname).join(t.nodes, table.c.node_id == t.nodes.c.id)
            .join(t.clusters).where(t.clusters.c.name == cluster))
    if node is not None:
        stmt = stmt.where(t.nodes.c.hostname_key == node.lower())
    return stmt
