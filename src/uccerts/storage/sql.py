"""The storage port over SQLAlchemy Core (SQLite and PostgreSQL).

One ``SqlUnitOfWork`` is one connection and one transaction, begun lazily at the
first statement. Driver errors are translated here, once: an expected conflict
becomes ``Refused`` with its own code, any other ``IntegrityError`` ``Refused``
(code ``conflict``), anything else from the driver ``SystemFailure``.

Writers on a node are serialised: on PostgreSQL each write that addresses a node
takes ``SELECT … FOR UPDATE`` on the node row (``lock_node`` does the same, for
read-check-write sequences); on SQLite every transaction already begins with
``BEGIN IMMEDIATE`` (see ``storage.engine``), and ``FOR UPDATE`` compiles to nothing.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cryptography import x509
from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    bindparam,
    case,
    exc,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from uccerts.domain.model import (
    AuditEntry,
    Cluster,
    Identity,
    Node,
    PendingCsr,
    PhoneRecord,
    ServiceLoad,
    TrustEntry,
)
from uccerts.domain.purposes import Role
from uccerts.errors import InvalidInput, NotFound, Refused, SystemFailure, UccertsError
from uccerts.storage import ports
from uccerts.storage import tables as t
from uccerts.storage.engine import READ_ONLY
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql_runbooks import SqlRunbookRepo

# ------------------------------------------------------------ transaction


def _seal_context(kind: str, cluster: str, node: str, purpose: str) -> str:
    """What a sealed key is bound to: a blob moved to another row will not open."""
    return f"{kind}/{cluster}/{node.lower()}/{purpose}"


def _reason(err: exc.DBAPIError) -> str:
    # First line only: later lines of a driver message may echo statement parameters.
    text = str(err.orig).strip() if err.orig is not None else ""
    return text.splitlines()[0] if text else type(err).__name__


class _Tx:
    """The connection of one unit of work; every statement goes through ``execute``."""

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: Connection | None = None
        # Node rows locked in this transaction, by (cluster, host name key): a lock holds
        # until the transaction ends, so the id need not be looked up (or locked) again.
        self._locked: dict[tuple[str, str], int] = {}

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
                params: builtins.list[dict[str, Any]] | None = None) -> CursorResult[Any]:
        """Run ``stmt`` (once per dict of ``params``, as one executemany, if given); with
        ``conflict``, inside a savepoint so the unit stays usable."""
        conn = self.connection()
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
        if self._conn is not None and self._conn.in_transaction():
            with self._translated():
                self._conn.commit()

    def rollback(self) -> None:
        self._locked.clear()
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
_PUBLISHER_FIRST = case((t.nodes.c.role == Role.PUBLISHER.value, 0), else_=1)


def _on_nodes(table: Any, cluster: str, node: str | None) -> Any:
    """``table`` joined to its node and cluster, filtered to ``cluster`` (and ``node``)."""
    stmt = (select(table, t.nodes.c.hostname).join(t.nodes, table.c.node_id == t.nodes.c.id)
            .join(t.clusters).where(t.clusters.c.name == cluster))
    if node is not None:
        stmt = stmt.where(t.nodes.c.hostname_key == node.lower())
    return stmt


# ----------------------------------------------------------- repositories


class SqlClusterRepo:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx

    def add(self, cluster: Cluster, nodes: builtins.list[Node]) -> None:
        exists = Refused(f"Cluster {cluster.name} already exists", code="cluster-exists")
        with self._tx.savepoint():
            cid = self._tx.execute(t.clusters.insert().values(**t.cluster_values(cluster)),
                                   conflict=exists).inserted_primary_key[0]  # type: ignore[index]
            for node in nodes:
                self._tx.execute(
                    t.nodes.insert().values(cluster_id=cid, **t.node_values(node)),
                    conflict=Refused(f"Node {node.hostname} appears twice in cluster "
                                     f"{cluster.name}", code="node-exists"))

    def get(self, name: str) -> Cluster | None:
        row = self._tx.execute(select(t.clusters).where(t.clusters.c.name == name)).first()
        return t.cluster_from_row(row) if row else None

    def list(self) -> builtins.list[Cluster]:
        rows = self._tx.execute(select(t.clusters).order_by(t.clusters.c.name))
        return [t.cluster_from_row(r) for r in rows]

    def update(self, cluster: Cluster) -> None:
        values = t.cluster_values(cluster)
        del values["name"], values["domain"]
        done = self._tx.execute(t.clusters.update().where(t.clusters.c.name == cluster.name)
                                .values(**values))
        if done.rowcount == 0:
            raise NotFound(f"Cluster {cluster.name} does not exist", code="cluster-not-found")

    def nodes(self, cluster: str) -> builtins.list[Node]:
        rows = self._tx.execute(select(t.nodes).join(t.clusters)
                                .where(t.clusters.c.name == cluster)
                                .order_by(_PUBLISHER_FIRST, t.nodes.c.id))
        return [t.node_from_row(r) for r in rows]

    def node(self, cluster: str, hostname: str) -> Node | None:
        row = self._tx.execute(select(t.nodes).join(t.clusters).where(
            t.clusters.c.name == cluster, t.nodes.c.hostname_key == hostname.lower())).first()
        return t.node_from_row(row) if row else None

    def update_node(self, cluster: str, node: Node) -> None:
        nid = self._tx.node_id(cluster, node.hostname, lock=True)
        values = {k: v for k, v in t.node_values(node).items()
                  if k == "services" or k == "ports" or k.startswith("ws_")}
        self._tx.execute(t.nodes.update().where(t.nodes.c.id == nid).values(**values))


class SqlIdentityRepo:
    def __init__(self, tx: _Tx, sealer: Sealer) -> None:
        self._tx, self._sealer = tx, sealer

    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> Identity | None:
        row = self._tx.execute(_on_nodes(t.identities, cluster, node)
                               .where(t.identities.c.purpose == purpose)).first()
        if row is None:
            return None
        if not with_key:
            return t.identity_from_row(row, None)
        ctx = _seal_context("identity", cluster, row.hostname, purpose)
        return t.identity_from_row(row, self._sealer.open_key(row.sealed_key, ctx))

    def list(self, cluster: str, node: str | None = None) -> builtins.list[Identity]:
        rows = self._tx.execute(_on_nodes(t.identities, cluster, node)
                                .order_by(_PUBLISHER_FIRST, t.nodes.c.id, t.identities.c.purpose))
        return [t.identity_from_row(r, None) for r in rows]

    def put(self, cluster: str, identity: Identity) -> None:
        if identity.key is None:
            raise UccertsError("An identity is stored with its private key",
                               code="identity-key-required")
        nid = self._tx.node_id(cluster, identity.node, lock=True)
        sealed = self._sealer.seal_key(identity.key, _seal_context(
            "identity", cluster, identity.node, identity.purpose))
        values = t.identity_values(identity, sealed)
        where = (t.identities.c.node_id == nid) & (t.identities.c.purpose == identity.purpose)
        if self._tx.execute(t.identities.update().where(where).values(**values)).rowcount == 0:
            self._tx.execute(t.identities.insert().values(node_id=nid, **values))


class SqlCsrRepo:
    def __init__(self, tx: _Tx, sealer: Sealer) -> None:
        self._tx, self._sealer = tx, sealer

    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> PendingCsr | None:
        row = self._tx.execute(_on_nodes(t.csrs, cluster, node)
                               .where(t.csrs.c.purpose == purpose)).first()
        if row is None:
            return None
        if not with_key:
            return t.csr_from_row(row, None)
        ctx = _seal_context("csr", cluster, row.hostname, purpose)
        return t.csr_from_row(row, self._sealer.open_key(row.sealed_key, ctx))

    def list(self, cluster: str, node: str | None = None) -> builtins.list[PendingCsr]:
        rows = self._tx.execute(_on_nodes(t.csrs, cluster, node)
                                .order_by(_PUBLISHER_FIRST, t.nodes.c.id, t.csrs.c.purpose))
        return [t.csr_from_row(r, None) for r in rows]

    def put(self, cluster: str, csr: PendingCsr) -> bool:
        if csr.key is None:
            raise UccertsError("A pending CSR is stored with its private key",
                               code="csr-key-required")
        # The node lock makes update-else-insert safe against a concurrent put.
        nid = self._tx.node_id(cluster, csr.node, lock=True)
        sealed = self._sealer.seal_key(csr.key, _seal_context(
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
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx

    def list(self, cluster: str, node: str | None = None, store: str | None = None
             ) -> builtins.list[TrustEntry]:
        stmt = _on_nodes(t.trust, cluster, node)
        if store is not None:
            stmt = stmt.where(t.trust.c.store == store)
        rows = self._tx.execute(stmt.order_by(_PUBLISHER_FIRST, t.nodes.c.id, t.trust.c.store,
                                              t.trust.c.filename_key))
        return [t.trust_from_row(r) for r in rows]

    def _in_store(self, cluster: str, node: str, store: str) -> Any:
        return _on_nodes(t.trust, cluster, node).where(t.trust.c.store == store)

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
        rows = self._tx.execute(self._in_store(cluster, node, store)
                                .where(t.trust.c.subject_hash == t.subject_key(subject))
                                .order_by(t.trust.c.id))
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


class SqlAuditRepo:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx

    def add(self, entry: AuditEntry) -> None:
        self._tx.execute(t.audit.insert().values(**t.audit_values(entry)))

    def list(self, cluster: str | None = None, limit: int = 100) -> builtins.list[AuditEntry]:
        stmt = select(t.audit).order_by(t.audit.c.at.desc(), t.audit.c.id.desc()).limit(limit)
        if cluster is not None:
            # Entries of no cluster (accounts, which every cluster shares) belong to all.
            stmt = stmt.where(t.audit.c.cluster.in_((cluster, "")))
        return [t.audit_from_row(r) for r in self._tx.execute(stmt)]


class SqlSettingsRepo:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx

    def get(self, key: str) -> bytes | None:
        value = self._tx.execute(select(t.settings.c.value)
                                 .where(t.settings.c.key == key)).scalar()
        return bytes(value) if value is not None else None

    def put(self, key: str, value: bytes) -> None:
        # An upsert, not update-else-insert: settings have no node row to lock.
        dialect = postgresql if self._tx.is_postgresql else sqlite
        stmt = dialect.insert(t.settings).values(key=key, value=value)
        self._tx.execute(stmt.on_conflict_do_update(index_elements=[t.settings.c.key],
                                                    set_={"value": value}))


class SqlAccountRepo:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx

    def add(self, username: str, role: str, password_hash: str) -> None:
        self._tx.execute(
            t.accounts.insert().values(username=username, role=role,
                                       password_hash=password_hash,
                                       created=dt.datetime.now(dt.UTC)),
            conflict=Refused(f"Account {username} already exists", code="account-exists"))

    def get(self, username: str) -> tuple[str, str] | None:
        row = self._tx.execute(select(t.accounts.c.role, t.accounts.c.password_hash)
                               .where(t.accounts.c.username == username)).first()
        return (row.role, row.password_hash) if row else None

    def list(self) -> builtins.list[tuple[str, str]]:
        rows = self._tx.execute(select(t.accounts.c.username, t.accounts.c.role)
                                .order_by(t.accounts.c.username))
        return [(r.username, r.role) for r in rows]

    def set_password(self, username: str, password_hash: str) -> bool:
        done = self._tx.execute(t.accounts.update().where(t.accounts.c.username == username)
                                .values(password_hash=password_hash))
        return bool(done.rowcount)

    def remove(self, username: str) -> bool:
        done = self._tx.execute(t.accounts.delete()
                                .where(t.accounts.c.username == username))
        return bool(done.rowcount)


class SqlRuntimeRepo:
    def __init__(self, tx: _Tx, sealer: Sealer) -> None:
        self._tx, self._sealer = tx, sealer

    def loads(self, cluster: str) -> builtins.list[ServiceLoad]:
        rows = self._tx.execute(_on_nodes(t.service_loads, cluster, None).order_by(
            _PUBLISHER_FIRST, t.nodes.c.id, t.service_loads.c.service)).all()
        return [t.service_load_from_row(r, None if r.sealed_key is None else
                                        self._sealer.open_key(r.sealed_key, _seal_context(
                                            "service", cluster, r.hostname, r.service)))
                for r in rows]

    def put_load(self, cluster: str, load: ServiceLoad) -> None:
        nid = self._tx.node_id(cluster, load.node, lock=True)
        sealed = None if load.key is None else self._sealer.seal_key(
            load.key, _seal_context("service", cluster, load.node, load.service))
        values = t.service_load_values(load, sealed)
        where = (t.service_loads.c.node_id == nid) & (t.service_loads.c.service == load.service)
        if self._tx.execute(t.service_loads.update().where(where).values(**values)
                            ).rowcount == 0:
            self._tx.execute(t.service_loads.insert().values(node_id=nid, **values))

    def delete_load(self, cluster: str, node: str, service: str) -> bool:
        nid = self._tx.node_id(cluster, node, lock=True)
        done = self._tx.execute(t.service_loads.delete().where(
            t.service_loads.c.node_id == nid, t.service_loads.c.service == service))
        return bool(done.rowcount)


def _phone_exists(mac: str | None, cluster: str, *, given_twice: bool = False) -> Refused:
    """A MAC taken in the cluster (``storage.memory`` says the same)."""
    what = (f"Phone {mac} is given twice" if given_twice else
            f"Phone {mac or 'of those given'} is already in cluster {cluster}")
    return Refused(what, code="phone-exists",
                   fix="Leave out the MACs the cluster already has, or delete its phones first")


class SqlPhoneRepo:
    def __init__(self, tx: _Tx) -> None:
        self._tx = tx

    def list(self, cluster: str) -> builtins.list[PhoneRecord]:
        tftp, cm = t.nodes.alias("tftp"), t.nodes.alias("cm")
        rows = self._tx.execute(
            select(t.phones, tftp.c.hostname.label("tftp_host"),
                   cm.c.hostname.label("cm_host"))
            .join(t.clusters, t.phones.c.cluster_id == t.clusters.c.id)
            .join(tftp, t.phones.c.tftp_node_id == tftp.c.id)
            .join(cm, t.phones.c.cm_node_id == cm.c.id)
            .where(t.clusters.c.name == cluster).order_by(t.phones.c.mac))
        return [t.phone_from_row(r) for r in rows]

    def add(self, cluster: str, phones: Sequence[PhoneRecord]) -> None:
        cid = self._tx.cluster_id(cluster)
        hosts: dict[str, int] = {r.hostname_key: r.id for r in self._tx.execute(
            select(t.nodes.c.hostname_key, t.nodes.c.id).where(t.nodes.c.cluster_id == cid))}
        rows: builtins.list[dict[str, Any]] = []
        macs: builtins.set[str] = set()
        for phone in phones:
            if phone.mac in macs:
                raise _phone_exists(phone.mac, cluster, given_twice=True)
            macs.add(phone.mac)
            ids = []
            for host in (phone.tftp_node, phone.cm_node):
                if host.lower() not in hosts:
                    raise NotFound(f"Node {host} is not in cluster {cluster}",
                                   code="node-not-found")
                ids.append(hosts[host.lower()])
            rows.append(t.phone_values(phone, cid, *ids))
        if not rows:
            return
        try:
            self._tx.execute(t.phones.insert(), params=rows,
                             conflict=_phone_exists(None, cluster))
        except Refused as err:
            # Name a MAC that was taken: worth one more query on this rare path only.
            taken = macs.intersection(self._tx.execute(
                select(t.phones.c.mac).where(t.phones.c.cluster_id == cid)).scalars())
            if not taken:
                raise
            raise _phone_exists(min(taken), cluster) from err.__cause__

    def set_trust(self, cluster: str, updates: Sequence[tuple[str, str | None, str | None]]
                  ) -> None:
        cid = self._tx.cluster_id(cluster)
        if not updates:
            return
        # One executemany: psycopg pipelines it, SQLite loops in C; each row hits the
        # unique (cluster_id, mac) index.
        stmt = (t.phones.update()
                .where(t.phones.c.cluster_id == cid, t.phones.c.mac == bindparam("b_mac"))
                .values(itl_sha256=bindparam("b_itl"), ctl_sha256=bindparam("b_ctl")))
        self._tx.execute(stmt, params=[{"b_mac": mac, "b_itl": itl, "b_ctl": ctl}
                                       for mac, itl, ctl in updates])

    def delete_all(self, cluster: str) -> int:
        cid = self._tx.cluster_id(cluster)
        return int(self._tx.execute(t.phones.delete().where(t.phones.c.cluster_id == cid)
                                    ).rowcount)

    def put_file(self, sha256: str, content: bytes) -> None:
        dialect = postgresql if self._tx.is_postgresql else sqlite
        stmt = dialect.insert(t.trust_files).values(sha256=sha256, content=bytes(content))
        self._tx.execute(stmt.on_conflict_do_nothing(index_elements=[t.trust_files.c.sha256]))

    def file(self, sha256: str) -> bytes | None:
        value = self._tx.execute(select(t.trust_files.c.content)
                                 .where(t.trust_files.c.sha256 == sha256)).scalar()
        return bytes(value) if value is not None else None


# ------------------------------------------------------- unit of work


class SqlUnitOfWork:
    """One transaction; leaving the ``with`` block without ``commit()`` rolls back."""

    def __init__(self, engine: Engine, sealer: Sealer, *, read_only: bool = False) -> None:
        self._tx = _Tx(engine, read_only=read_only)
        # Typed as the ports: protocol attributes are invariant.
        self.clusters: ports.ClusterRepo = SqlClusterRepo(self._tx)
        self.identities: ports.IdentityRepo = SqlIdentityRepo(self._tx, sealer)
        self.csrs: ports.CsrRepo = SqlCsrRepo(self._tx, sealer)
        self.trust: ports.TrustRepo = SqlTrustRepo(self._tx)
        self.audit: ports.AuditRepo = SqlAuditRepo(self._tx)
        self.settings: ports.SettingsRepo = SqlSettingsRepo(self._tx)
        self.accounts: ports.AccountRepo = SqlAccountRepo(self._tx)
        self.runtime: ports.RuntimeRepo = SqlRuntimeRepo(self._tx, sealer)
        self.phones: ports.PhoneRepo = SqlPhoneRepo(self._tx)
        self.runbooks: ports.RunbookRepo = SqlRunbookRepo(self._tx)

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tx.close()

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()

    def lock_node(self, cluster: str, node: str) -> None:
        self._tx.node_id(cluster, node, lock=True)


class SqlStore:
    """The storage port on one engine: ``uow()`` makes a fresh unit of work."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self.engine = engine
        self._sealer = sealer

    def __repr__(self) -> str:
        return f"SqlStore({self.engine.url.render_as_string(hide_password=True)})"

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._sealer)

    def reader(self) -> SqlUnitOfWork:
        """A unit of work for reading only: on SQLite it takes no write lock, so it
        runs beside a writer (WAL). Writing through it may fail with "locked"."""
        return SqlUnitOfWork(self.engine, self._sealer, read_only=True)
