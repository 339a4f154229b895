"""The storage port: repositories behind one unit of work.

Services talk only to these protocols. ``storage.sql`` implements them over
SQLAlchemy Core (SQLite, PostgreSQL); ``storage.memory`` is the in-memory fake for
unit tests. Every repository method addresses rows by cluster name and node host
name; private keys come back unsealed only from the ``get`` methods.

A unit of work is one transaction::

    with uow_factory() as uow:
        uow.lock_node("lab", "cucm-pub")   # serialise writers on this node
        ...
        uow.commit()                       # leaving without commit rolls back
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

from cryptography import x509

from uccerts.domain.model import (
    ApiToken,
    AuditEntry,
    Cluster,
    Identity,
    Node,
    PendingCsr,
    PhoneRecord,
    Runbook,
    ServiceLoad,
    TrustEntry,
)
from uccerts.domain.states import RunbookState, StepState


class ClusterRepo(Protocol):
    def add(self, cluster: Cluster, nodes: list[Node]) -> None:
        """Insert a cluster and its nodes. Raises ``Refused`` (code cluster-exists)."""

    def get(self, name: str) -> Cluster | None: ...

    def list(self) -> builtins.list[Cluster]: ...

    def update(self, cluster: Cluster) -> None:
        """Update settings (security_mode, sso_enabled, san_match, phone_count,
        ctl_sha256) by name."""

    def nodes(self, cluster: str) -> builtins.list[Node]:
        """Every node of the cluster, publisher first, then in insertion order."""

    def node(self, cluster: str, hostname: str) -> Node | None:
        """A node by host name (case-insensitive)."""

    def update_node(self, cluster: str, node: Node) -> None:
        """Update web_security, services and ports of the node with that host name."""


class IdentityRepo(Protocol):
    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> Identity | None:
        """The identity, with its private key unsealed unless ``with_key`` is False."""

    def list(self, cluster: str, node: str | None = None) -> builtins.list[Identity]:
        """Identities without keys (``key`` is None)."""

    def put(self, cluster: str, identity: Identity) -> None:
        """Insert or replace the identity of (node, purpose); ``identity.key`` required."""


class CsrRepo(Protocol):
    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> PendingCsr | None:
        """The pending CSR, with its private key unsealed unless ``with_key`` is False."""

    def list(self, cluster: str, node: str | None = None) -> builtins.list[PendingCsr]:
        """Pending CSRs without keys."""

    def put(self, cluster: str, csr: PendingCsr) -> bool:
        """Insert or replace the one CSR of (csr.node, csr.purpose); True if replaced."""

    def delete(self, cluster: str, node: str, purpose: str) -> bool: ...


class TrustRepo(Protocol):
    def list(self, cluster: str, node: str | None = None, store: str | None = None
             ) -> builtins.list[TrustEntry]: ...

    def get(self, cluster: str, node: str, store: str, filename: str) -> TrustEntry | None:
        """By file name (case-insensitive)."""

    def by_common_name(self, cluster: str, node: str, store: str, cn: str
                       ) -> TrustEntry | None:
        """The entry whose §6 key (``truststore.store_key``: the CN, or the whole subject
        of a CN-less CA) equals ``cn`` (domain.md §6: one per CN)."""

    def by_subject(self, cluster: str, node: str, store: str, subject: x509.Name
                   ) -> builtins.list[TrustEntry]:
        """Entries whose subject equals ``subject`` (indexed: must not scan the store)."""

    def filenames(self, cluster: str, node: str, store: str) -> builtins.set[str]: ...

    def add(self, cluster: str, entry: TrustEntry) -> None: ...

    def delete(self, cluster: str, node: str, store: str, filename: str) -> bool: ...


class AuditRepo(Protocol):
    def add(self, entry: AuditEntry) -> None: ...

    def list(self, cluster: str | None = None, limit: int = 100) -> builtins.list[AuditEntry]:
        """Newest first."""


class SettingsRepo(Protocol):
    """Small named blobs: lab CA material (keys sealed by the caller), preferences."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...


class AccountRepo(Protocol):
    """Platform administrator accounts (role "read-only" or "read-write")."""

    def add(self, username: str, role: str, password_hash: str, *,
            created: dt.datetime) -> None:
        """Raises ``Refused`` (code account-exists) when the name is taken."""

    def get(self, username: str) -> tuple[str, str] | None:
        """(role, password_hash) of the account, or None."""

    def list(self) -> builtins.list[tuple[str, str]]:
        """(username, role) pairs, sorted by name."""

    def set_password(self, username: str, password_hash: str) -> bool: ...

    def remove(self, username: str) -> bool: ...


class ApiTokenRepo(Protocol):
    """API tokens by the SHA-256 of their text (the text itself is never stored)."""

    def add(self, token: ApiToken) -> None:
        """Raises ``Refused`` (code token-exists) when the hash is already stored."""

    def get(self, sha256: str) -> ApiToken | None: ...

    def revoke(self, sha256: str) -> bool:
        """Mark the token revoked; False when no such token is stored."""


class RuntimeRepo(Protocol):
    """What each service of the running cluster (``serve``) last loaded, by node and
    service name, so that a restarted ``serve`` brings every service back unchanged."""

    def loads(self, cluster: str) -> builtins.list[ServiceLoad]:
        """Every stored load of the cluster's nodes, keys unsealed; publisher first, then
        node insertion order, then service name. Empty for an unknown cluster."""

    def put_load(self, cluster: str, load: ServiceLoad) -> None:
        """Insert or replace the load of (node, service). Certificate and key may be None
        (a STOPPED service that never loaded). Raises ``NotFound`` (cluster-not-found,
        node-not-found)."""

    def delete_load(self, cluster: str, node: str, service: str) -> bool:
        """True if there was one. Raises ``NotFound`` for an unknown node."""


class PhoneRepo(Protocol):
    """The cluster's simulated phones and a content-addressed store of the signed
    ITL/CTL files they accepted (shared by all clusters, never deleted with one)."""

    def list(self, cluster: str) -> builtins.list[PhoneRecord]:
        """Ordered by MAC; empty for an unknown cluster."""

    def add(self, cluster: str, phones: Sequence[PhoneRecord]) -> None:
        """Insert all or none. Raises ``Refused`` (phone-exists) for a MAC already in the
        cluster or given twice, ``NotFound`` (cluster-not-found, node-not-found) for an
        unknown cluster or TFTP/CallManager host name (case-insensitive)."""

    def set_trust(self, cluster: str, updates: Sequence[tuple[str, str | None, str | None]]
                  ) -> None:
        """Set (mac, itl_sha256, ctl_sha256) of many phones at once. A MAC not in the
        cluster is skipped (a phone deleted meanwhile); an unknown cluster is
        ``NotFound``."""

    def delete_all(self, cluster: str) -> int:
        """Delete every phone of the cluster; how many. The trust files stay. Raises
        ``NotFound`` (cluster-not-found) for an unknown cluster."""

    def put_file(self, sha256: str, content: bytes) -> None:
        """Store ``content`` under ``sha256`` (the caller's hex digest of it); storing the
        same digest again is a no-op that keeps the first content."""

    def file(self, sha256: str) -> bytes | None: ...


class RunbookRepo(Protocol):
    """Stored regeneration runbooks (domain.md §10), each with its numbered steps.

    Deleting a cluster deletes its runbooks. ``lock`` serialises two units of work
    resuming the same runbook (read-check-write of its steps)."""

    def add(self, runbook: Runbook) -> int:
        """Insert the runbook and its steps (all or none); its new id (``runbook.id`` is
        ignored). Raises ``NotFound`` (cluster-not-found) for an unknown cluster,
        ``Refused`` (runbook-step-exists) for a step number given twice."""

    def get(self, runbook_id: int) -> Runbook | None:
        """With its steps ordered by number."""

    def list(self, cluster: str | None = None, limit: int = 100) -> builtins.list[Runbook]:
        """Newest first (by ``created``, then by id), each with its steps."""

    def unfinished(self, cluster: str) -> builtins.list[str]:
        """Purposes of the cluster's runbooks not done yet (oldest first): what the
        guards call "in flight". One narrow query, however many runbooks are stored."""

    def set_state(self, runbook_id: int, state: RunbookState, message: str = "", *,
                  at: dt.datetime) -> None:
        """Set state and message, and ``updated`` to ``at``. Raises ``NotFound``
        (runbook-not-found)."""

    def set_step(self, runbook_id: int, n: int, *, state: StepState,
                 output: str | None = None, started: dt.datetime | None = None,
                 finished: dt.datetime | None = None, at: dt.datetime | None = None) -> None:
        """Update step ``n``: its state, and output, started and finished where given
        (None leaves them unchanged). The runbook's ``updated`` becomes ``finished``,
        else ``started``, else ``at`` (the use case's now), else stays. Raises
        ``NotFound`` (runbook-step-not-found) when the runbook or the step is missing."""

    def lock(self, runbook_id: int) -> None:
        """Hold the runbook against other writers until this unit of work ends
        (``SELECT … FOR UPDATE``). Raises ``NotFound`` (runbook-not-found)."""


class UnitOfWork(Protocol):
    clusters: ClusterRepo
    identities: IdentityRepo
    csrs: CsrRepo
    trust: TrustRepo
    audit: AuditRepo
    settings: SettingsRepo
    accounts: AccountRepo
    tokens: ApiTokenRepo
    runtime: RuntimeRepo
    phones: PhoneRepo
    runbooks: RunbookRepo

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def lock_node(self, cluster: str, node: str) -> None:
        """Serialise concurrent writers on one node until this unit ends."""


UowFactory = Callable[[], UnitOfWork]
