"""An in-memory storage port with the behaviour of ``storage.sql``, for unit tests.

Same look-up rules (case-insensitive host and file names, publisher first), same
errors and codes, same transaction semantics: a unit of work sees a private copy
of the state, ``commit()`` publishes it, leaving without commit drops it. Units of
work are serialised like SQLite's ``BEGIN IMMEDIATE``; opening a second one in the
same thread is refused at once, since on SQLite it would wait for itself.

Keys are held as objects, not sealed: sealing is covered by the SQL tests.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

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
    RunbookStep,
    ServiceLoad,
    TrustEntry,
)
from uccerts.domain.purposes import Role
from uccerts.domain.runbook_options import RunbookOptions, options_from_json, options_to_json
from uccerts.domain.states import RunbookState, StepState
from uccerts.domain.truststore import store_key
from uccerts.errors import NotFound, Refused, SystemFailure, UccertsError
from uccerts.storage import ports
from uccerts.storage.sql_runbooks import (
    runbook_not_found,
    step_given_twice,
    step_not_found,
    step_updated_at,
)
from uccerts.storage.tables import added_at, subject_key

BUSY_TIMEOUT_S = 30  # as SQLite's busy timeout in storage.engine

_V = TypeVar("_V")
NodeKey = tuple[str, str]  # (cluster, lower-case host name)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass
class _State:
    clusters: dict[str, Cluster] = field(default_factory=dict)
    nodes: dict[NodeKey, Node] = field(default_factory=dict)  # insertion order = id order
    identities: dict[tuple[str, str, str], Identity] = field(default_factory=dict)
    csrs: dict[tuple[str, str, str], PendingCsr] = field(default_factory=dict)
    trust: dict[tuple[str, str, str, str], TrustEntry] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    settings: dict[str, bytes] = field(default_factory=dict)
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)
    next_id: int = 1
    loads: dict[tuple[str, str, str], ServiceLoad] = field(default_factory=dict)
    phones: dict[tuple[str, str], PhoneRecord] = field(default_factory=dict)  # (cluster, mac)
    files: dict[str, bytes] = field(default_factory=dict)
    runbooks: dict[int, Runbook] = field(default_factory=dict)  # by id, ids ascending
    tokens: dict[str, ApiToken] = field(default_factory=dict)  # by sha256

    def copy(self) -> _State:
        # Values are frozen dataclasses: copying the containers is a full snapshot.
        return _State(dict(self.clusters), dict(self.nodes), dict(self.identities),
                      dict(self.csrs), dict(self.trust), list(self.audit),
                      dict(self.settings), dict(self.accounts), self.next_id,
                      dict(self.loads), dict(self.phones), dict(self.files),
                      dict(self.runbooks), dict(self.tokens))


class _Repos:
    """Shared by the repositories of one unit of work: the working state and look-ups."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def s(self) -> _State:
        return self._uow.state

    def new_id(self) -> int:
        self.s.next_id += 1
        return self.s.next_id - 1

    def require_node(self, cluster: str, node: str) -> Node:
        found = self.s.nodes.get((cluster, node.lower()))
        if found is None:
            if cluster not in self.s.clusters:
                raise NotFound(f"Cluster {cluster} does not exist", code="cluster-not-found")
            raise NotFound(f"Node {node} is not in cluster {cluster}", code="node-not-found")
        return found

    def node_order(self, cluster: str) -> dict[str, int]:
        """Listings follow ``nodes()``: publisher first, then the order nodes were added."""
        found = [(k[1], n) for k, n in self.s.nodes.items() if k[0] == cluster]
        ordered = sorted(found, key=lambda kn: kn[1].role is not Role.PUBLISHER)
        return {key: i for i, (key, _) in enumerate(ordered)}

    def select(self, table: dict[Any, _V], cluster: str, node: str | None,
               sort: Callable[[tuple[str, ...]], tuple[object, ...]]) -> builtins.list[_V]:
        keys = [k for k in table
                if k[0] == cluster and (node is None or k[1] == node.lower())]
        return [table[k] for k in sorted(keys, key=sort)]


class MemoryClusterRepo(_Repos):
    def add(self, cluster: Cluster, nodes: list[Node]) -> None:
        if cluster.name in self.s.clusters:
            raise Refused(f"Cluster {cluster.name} already exists", code="cluster-exists")
        keys = [(cluster.name, n.hostname.lower()) for n in nodes]
        for node, key in zip(nodes, keys, strict=True):
            if keys.count(key) > 1:
                raise Refused(f"Node {node.hostname} appears twice in cluster "
                              f"{cluster.name}", code="node-exists")
        self.s.clusters[cluster.name] = replace(cluster, id=self.new_id())
        for node, key in zip(nodes, keys, strict=True):
            self.s.nodes[key] = replace(node, id=self.new_id())

    def get(self, name: str) -> Cluster | None:
        return self.s.clusters.get(name)

    def list(self) -> builtins.list[Cluster]:
        return [self.s.clusters[k] for k in sorted(self.s.clusters)]

    def update(self, cluster: Cluster) -> None:
        old = self.s.clusters.get(cluster.name)
        if old is None:
            raise NotFound(f"Cluster {cluster.name} does not exist", code="cluster-not-found")
        self.s.clusters[cluster.name] = replace(
            old, security_mode=cluster.security_mode, sso_enabled=cluster.sso_enabled,
            san_match=cluster.san_match, phone_count=cluster.phone_count,
            ctl_sha256=cluster.ctl_sha256)

    def nodes(self, cluster: str) -> builtins.list[Node]:
        order = self.node_order(cluster)
        return sorted((n for k, n in self.s.nodes.items() if k[0] == cluster),
                      key=lambda n: order[n.hostname.lower()])

    def node(self, cluster: str, hostname: str) -> Node | None:
        return self.s.nodes.get((cluster, hostname.lower()))

    def update_node(self, cluster: str, node: Node) -> None:
        old = self.require_node(cluster, node.hostname)
        self.s.nodes[(cluster, node.hostname.lower())] = replace(
            old, web_security=node.web_security, services=node.services, ports=node.ports)


class MemoryIdentityRepo(_Repos):
    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> Identity | None:
        found = self.s.identities.get((cluster, node.lower(), purpose))
        return found if found is None or with_key else replace(found, key=None)

    def list(self, cluster: str, node: str | None = None) -> builtins.list[Identity]:
        order = self.node_order(cluster)
        found = self.select(self.s.identities, cluster, node,
                            lambda k: (order[k[1]], k[2]))
        return [replace(i, key=None) for i in found]

    def put(self, cluster: str, identity: Identity) -> None:
        if identity.key is None:
            raise UccertsError("An identity is stored with its private key",
                               code="identity-key-required")
        stored = self.require_node(cluster, identity.node)
        key = (cluster, stored.hostname.lower(), identity.purpose)
        self.s.identities[key] = replace(identity, node=stored.hostname)


class MemoryCsrRepo(_Repos):
    def get(self, cluster: str, node: str, purpose: str, *, with_key: bool = True
            ) -> PendingCsr | None:
        found = self.s.csrs.get((cluster, node.lower(), purpose))
        return found if found is None or with_key else replace(found, key=None)

    def list(self, cluster: str, node: str | None = None) -> builtins.list[PendingCsr]:
        order = self.node_order(cluster)
        found = self.select(self.s.csrs, cluster, node,
                            lambda k: (order[k[1]], k[2]))
        return [replace(c, key=None) for c in found]

    def put(self, cluster: str, csr: PendingCsr) -> bool:
        if csr.key is None:
            raise UccertsError("A pending CSR is stored with its private key",
                               code="csr-key-required")
        stored = self.require_node(cluster, csr.node)
        key = (cluster, stored.hostname.lower(), csr.purpose)
        replaced = key in self.s.csrs
        self.s.csrs[key] = replace(csr, node=stored.hostname, created=_utc(csr.created))
        return replaced

    def delete(self, cluster: str, node: str, purpose: str) -> bool:
        self.require_node(cluster, node)
        return self.s.csrs.pop((cluster, node.lower(), purpose), None) is not None


class MemoryTrustRepo(_Repos):
    def list(self, cluster: str, node: str | None = None, store: str | None = None
             ) -> builtins.list[TrustEntry]:
        order = self.node_order(cluster)
        found = self.select(self.s.trust, cluster, node,
                            lambda k: (order[k[1]], k[2], k[3]))
        return [e for e in found if store is None or e.store == store]

    def _store(self, cluster: str, node: str, store: str) -> builtins.list[TrustEntry]:
        return [e for k, e in self.s.trust.items()
                if k[:3] == (cluster, node.lower(), store)]

    def get(self, cluster: str, node: str, store: str, filename: str) -> TrustEntry | None:
        return self.s.trust.get((cluster, node.lower(), store, filename.lower()))

    def by_common_name(self, cluster: str, node: str, store: str, cn: str
                       ) -> TrustEntry | None:
        return next((e for e in self._store(cluster, node, store)
                     if store_key(e.certificate) == cn), None)

    def by_subject(self, cluster: str, node: str, store: str, subject: x509.Name
                   ) -> builtins.list[TrustEntry]:
        wanted = subject_key(subject)
        return [e for e in self._store(cluster, node, store)
                if subject_key(e.certificate.subject) == wanted]

    def filenames(self, cluster: str, node: str, store: str) -> set[str]:
        return {e.filename for e in self._store(cluster, node, store)}

    def add(self, cluster: str, entry: TrustEntry) -> None:
        stored = self.require_node(cluster, entry.node)
        key = (cluster, stored.hostname.lower(), entry.store, entry.filename.lower())
        if key in self.s.trust:
            raise Refused(f"{entry.filename} already exists in {entry.store} of {entry.node}",
                          code="trust-file-exists",
                          fix="Delete the existing file first, or store under another name")
        added = _utc(added_at(entry))
        self.s.trust[key] = replace(entry, node=stored.hostname, added=added)

    def delete(self, cluster: str, node: str, store: str, filename: str) -> bool:
        self.require_node(cluster, node)
        key = (cluster, node.lower(), store, filename.lower())
        return self.s.trust.pop(key, None) is not None


class MemoryAuditRepo(_Repos):
    def add(self, entry: AuditEntry) -> None:
        self.s.audit.append(replace(entry, at=_utc(entry.at)))

    def list(self, cluster: str | None = None, limit: int = 100
             ) -> builtins.list[AuditEntry]:
        indexed = [(e.at, i, e) for i, e in enumerate(self.s.audit)
                   if cluster is None or e.cluster in (cluster, "")]
        return [e for _, _, e in sorted(indexed, key=lambda x: (x[0], x[1]),
                                        reverse=True)][:limit]


class MemorySettingsRepo(_Repos):
    def get(self, key: str) -> bytes | None:
        return self.s.settings.get(key)

    def put(self, key: str, value: bytes) -> None:
        self.s.settings[key] = bytes(value)


class MemoryAccountRepo(_Repos):
    def add(self, username: str, role: str, password_hash: str, *,
            created: dt.datetime) -> None:
        if username in self.s.accounts:
            raise Refused(f"Account {username} already exists", code="account-exists")
        self.s.accounts[username] = (role, password_hash)

    def get(self, username: str) -> tuple[str, str] | None:
        return self.s.accounts.get(username)

    def list(self) -> builtins.list[tuple[str, str]]:
        return [(u, self.s.accounts[u][0]) for u in sorted(self.s.accounts)]

    def set_password(self, username: str, password_hash: str) -> bool:
        if username not in self.s.accounts:
            return False
        self.s.accounts[username] = (self.s.accounts[username][0], password_hash)
        return True

    def remove(self, username: str) -> bool:
        return self.s.accounts.pop(username, None) is not None


class MemoryApiTokenRepo(_Repos):
    def add(self, token: ApiToken) -> None:
        if token.sha256 in self.s.tokens:
            raise Refused("This token is already stored", code="token-exists")
        self.s.tokens[token.sha256] = replace(token, created=_utc(token.created),
                                              expires=_utc(token.expires))

    def get(self, sha256: str) -> ApiToken | None:
        return self.s.tokens.get(sha256)

    def revoke(self, sha256: str) -> bool:
        found = self.s.tokens.get(sha256)
        if found is None:
            return False
        self.s.tokens[sha256] = replace(found, revoked=True)
        return True


class MemoryRuntimeRepo(_Repos):
    def loads(self, cluster: str) -> builtins.list[ServiceLoad]:
        order = self.node_order(cluster)
        return self.select(self.s.loads, cluster, None, lambda k: (order[k[1]], k[2]))

    def put_load(self, cluster: str, load: ServiceLoad) -> None:
        stored = self.require_node(cluster, load.node)
        self.s.loads[(cluster, stored.hostname.lower(), load.service)] = replace(
            load, node=stored.hostname, snapshot=bytes(load.snapshot),
            loaded_at=None if load.loaded_at is None else _utc(load.loaded_at))

    def delete_load(self, cluster: str, node: str, service: str) -> bool:
        self.require_node(cluster, node)
        return self.s.loads.pop((cluster, node.lower(), service), None) is not None


def _phone_exists(mac: str, cluster: str, *, given_twice: bool = False) -> Refused:
    what = (f"Phone {mac} is given twice" if given_twice else
            f"Phone {mac} is already in cluster {cluster}")
    return Refused(what, code="phone-exists",
                   fix="Leave out the MACs the cluster already has, or delete its phones first")


class MemoryPhoneRepo(_Repos):
    def require_cluster(self, cluster: str) -> None:
        if cluster not in self.s.clusters:
            raise NotFound(f"Cluster {cluster} does not exist", code="cluster-not-found")

    def list(self, cluster: str) -> builtins.list[PhoneRecord]:
        return [self.s.phones[k] for k in sorted(k for k in self.s.phones if k[0] == cluster)]

    def add(self, cluster: str, phones: Sequence[PhoneRecord]) -> None:
        self.require_cluster(cluster)
        new: dict[tuple[str, str], PhoneRecord] = {}
        for phone in phones:  # everything checked before anything is stored
            key = (cluster, phone.mac)
            if key in new:
                raise _phone_exists(phone.mac, cluster, given_twice=True)
            tftp, cm = (self.require_node(cluster, h) for h in (phone.tftp_node, phone.cm_node))
            new[key] = replace(phone, tftp_node=tftp.hostname, cm_node=cm.hostname)
        taken = sorted(k[1] for k in new if k in self.s.phones)
        if taken:
            raise _phone_exists(taken[0], cluster)
        self.s.phones.update(new)

    def set_trust(self, cluster: str, updates: Sequence[tuple[str, str | None, str | None]]
                  ) -> None:
        self.require_cluster(cluster)
        for mac, itl, ctl in updates:
            old = self.s.phones.get((cluster, mac))
            if old is not None:
                self.s.phones[(cluster, mac)] = replace(old, itl_sha256=itl, ctl_sha256=ctl)

    def delete_all(self, cluster: str) -> int:
        self.require_cluster(cluster)
        keys = [k for k in self.s.phones if k[0] == cluster]
        for key in keys:
            del self.s.phones[key]
        return len(keys)

    def put_file(self, sha256: str, content: bytes) -> None:
        self.s.files.setdefault(sha256, bytes(content))

    def file(self, sha256: str) -> bytes | None:
        return self.s.files.get(sha256)


def _json(options: RunbookOptions) -> RunbookOptions:
    """What the SQL store gives back: the options through their JSON mappers."""
    return options_from_json(json.loads(json.dumps(options_to_json(options))))


def _step(step: RunbookStep) -> RunbookStep:
    return replace(step, started=None if step.started is None else _utc(step.started),
                   finished=None if step.finished is None else _utc(step.finished))


class MemoryRunbookRepo(_Repos):
    def add(self, runbook: Runbook) -> int:
        numbers = [s.n for s in runbook.steps]
        for i, n in enumerate(numbers):
            if n in numbers[:i]:
                raise step_given_twice(n)
        if runbook.cluster not in self.s.clusters:
            raise NotFound(f"Cluster {runbook.cluster} does not exist",
                           code="cluster-not-found")
        rid = self.new_id()
        self.s.runbooks[rid] = replace(
            runbook, id=rid, options=_json(runbook.options), created=_utc(runbook.created),
            updated=_utc(runbook.updated),
            steps=tuple(sorted((_step(s) for s in runbook.steps), key=lambda s: s.n)))
        return rid

    def _out(self, runbook: Runbook) -> Runbook:
        return replace(runbook, options=_json(runbook.options))

    def get(self, runbook_id: int) -> Runbook | None:
        found = self.s.runbooks.get(runbook_id)
        return None if found is None else self._out(found)

    def list(self, cluster: str | None = None, limit: int = 100) -> builtins.list[Runbook]:
        found = [r for r in self.s.runbooks.values() if cluster is None or r.cluster == cluster]
        found.sort(key=lambda r: (r.created, r.id), reverse=True)
        return [self._out(r) for r in found[:max(limit, 0)]]

    def unfinished(self, cluster: str) -> builtins.list[str]:
        return [r.purpose for r in sorted(self.s.runbooks.values(), key=lambda r: r.id or 0)
                if r.cluster == cluster and r.state != RunbookState.DONE]

    def set_state(self, runbook_id: int, state: RunbookState, message: str = "", *,
                  at: dt.datetime) -> None:
        old = self.s.runbooks.get(runbook_id)
        if old is None:
            raise runbook_not_found(runbook_id)
        self.s.runbooks[runbook_id] = replace(old, state=RunbookState(state), message=message,
                                              updated=_utc(at))

    def set_step(self, runbook_id: int, n: int, *, state: StepState,
                 output: str | None = None, started: dt.datetime | None = None,
                 finished: dt.datetime | None = None, at: dt.datetime | None = None) -> None:
        old = self.s.runbooks.get(runbook_id)
        index = next((i for i, s in enumerate(old.steps) if s.n == n), None) if old else None
        if old is None or index is None:
            raise step_not_found(runbook_id, n)
        step = old.steps[index]
        step = replace(step, state=StepState(state),
                       output=step.output if output is None else output,
                       started=step.started if started is None else _utc(started),
                       finished=step.finished if finished is None else _utc(finished))
        self.s.runbooks[runbook_id] = replace(
            old, steps=(*old.steps[:index], step, *old.steps[index + 1:]),
            updated=_utc(step_updated_at(started, finished, at) or old.updated))

    def lock(self, runbook_id: int) -> None:
        # Units of work are already serialised; only the existence check remains.
        if runbook_id not in self.s.runbooks:
            raise runbook_not_found(runbook_id)


class MemoryUnitOfWork:
    """Takes the store's lock and a private copy at first use, like a lazy BEGIN."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._entered = False
        self._state: _State | None = None
        self.clusters: ports.ClusterRepo = MemoryClusterRepo(self)
        self.identities: ports.IdentityRepo = MemoryIdentityRepo(self)
        self.csrs: ports.CsrRepo = MemoryCsrRepo(self)
        self.trust: ports.TrustRepo = MemoryTrustRepo(self)
        self.audit: ports.AuditRepo = MemoryAuditRepo(self)
        self.settings: ports.SettingsRepo = MemorySettingsRepo(self)
        self.accounts: ports.AccountRepo = MemoryAccountRepo(self)
        self.tokens: ports.ApiTokenRepo = MemoryApiTokenRepo(self)
        self.runtime: ports.RuntimeRepo = MemoryRuntimeRepo(self)
        self.phones: ports.PhoneRepo = MemoryPhoneRepo(self)
        self.runbooks: ports.RunbookRepo = MemoryRunbookRepo(self)

    @property
    def state(self) -> _State:
        if not self._entered:
            raise UccertsError("A unit of work is used outside its with block",
                               code="uow-not-entered")
        if self._state is None:
            self._store._acquire()
            self._state = self._store._state.copy()
        return self._state

    def _end(self) -> None:
        if self._state is not None:
            self._state = None
            self._store._release()

    def __enter__(self) -> MemoryUnitOfWork:
        self._entered = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._end()
        self._entered = False

    def commit(self) -> None:
        if self._state is not None:
            self._store._state = self._state
        self._end()

    def rollback(self) -> None:
        self._end()

    def lock_node(self, cluster: str, node: str) -> None:
        # Units of work are already serialised; only the existence check remains.
        MemoryClusterRepo(self).require_node(cluster, node)


class MemoryStore:
    """``uow()`` gives a fresh ``MemoryUnitOfWork`` over one shared state."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.Lock()
        self._owner: int | None = None

    def uow(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def _acquire(self) -> None:
        if self._owner == threading.get_ident():
            raise UccertsError("A unit of work is already open in this thread",
                               code="nested-unit-of-work",
                               fix="Finish the outer unit of work first, or pass it down")
        if not self._lock.acquire(timeout=BUSY_TIMEOUT_S):
            raise SystemFailure("The database failed: database is locked",
                                code="database-busy",
                                fix="Another uccerts process held the database too long; "
                                    "try again")
        self._owner = threading.get_ident()

    def _release(self) -> None:
        self._owner = None
        self._lock.release()
