"""The storage port over SQLAlchemy Core (SQLite and PostgreSQL).

One ``SqlUnitOfWork`` is one transaction (``storage.sql_tx.Tx``, where driver errors
are translated once) and a repository per aggregate over it: ``sql_clusters``,
``sql_certificates``, ``sql_admin``, ``sql_runtime``, ``sql_runbooks``.

Writers on a node are serialised: on PostgreSQL each write that addresses a node
takes ``SELECT … FOR UPDATE`` on the node row (``lock_node`` does the same, for
read-check-write sequences); on SQLite every transaction already begins with
``BEGIN IMMEDIATE`` (see ``storage.engine``), and ``FOR UPDATE`` compiles to nothing.
"""

from __future__ import annotations

from sqlalchemy import Engine

from uccerts.storage import ports
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql_admin import (
    SqlAccountRepo,
    SqlApiTokenRepo,
    SqlAuditRepo,
    SqlSettingsRepo,
)
from uccerts.storage.sql_certificates import SqlCsrRepo, SqlIdentityRepo, SqlTrustRepo
from uccerts.storage.sql_clusters import SqlClusterRepo
from uccerts.storage.sql_runbooks import SqlRunbookRepo
from uccerts.storage.sql_runtime import SqlPhoneRepo, SqlRuntimeRepo
from uccerts.storage.sql_tx import Tx


class SqlUnitOfWork:
    """One transaction; leaving the ``with`` block without ``commit()`` rolls back."""

    def __init__(self, engine: Engine, sealer: Sealer, *, read_only: bool = False) -> None:
        self._tx = Tx(engine, read_only=read_only)
        # Typed as the ports: protocol attributes are invariant.
        self.clusters: ports.ClusterRepo = SqlClusterRepo(self._tx)
        self.identities: ports.IdentityRepo = SqlIdentityRepo(self._tx, sealer)
        self.csrs: ports.CsrRepo = SqlCsrRepo(self._tx, sealer)
        self.trust: ports.TrustRepo = SqlTrustRepo(self._tx)
        self.audit: ports.AuditRepo = SqlAuditRepo(self._tx)
        self.settings: ports.SettingsRepo = SqlSettingsRepo(self._tx)
        self.accounts: ports.AccountRepo = SqlAccountRepo(self._tx)
        self.tokens: ports.ApiTokenRepo = SqlApiTokenRepo(self._tx)
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
