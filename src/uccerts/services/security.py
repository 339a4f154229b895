"""Cluster security: the security mode and its CTL, and the SAML SSO flag (domain.md
§1, §9).

- ``set_mode("mixed")`` is the appliance's ``utils ctl set-cluster mixed-mode``: the
  mode becomes 1 and the CTL is built at once; ``set_mode("non-secure")`` makes it 0
  and drops the CTL.
- ``update_ctl()`` is ``utils ctl update CTLFile``: the CTL rebuilt from the
  certificates the store holds now (after a CallManager or CAPF change), mixed mode only.

The CTL lists the CallManager certificate of every node running Cisco CallManager or
Cisco TFTP (role CCM+TFTP: a phone in mixed mode checks its CallManager's TLS
certificate and its TFTP's ITL signer there), the publisher's CAPF certificate, and the
publisher's ITLRecovery certificate (SAST), which signs it. TFTP serves the CTL it read
when it started, so every change is followed by the restarts in ``next_steps``.

Each change is one unit of work under the publisher's node lock: two concurrent
updates serialise, and the second builds from what the first stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from uccerts.domain.model import Cluster, Node
from uccerts.domain.purposes import Role, ServiceKind, name_of
from uccerts.domain.restart_plan import order_nodes
from uccerts.domain.trustlist import CTL, TrustRecord, TrustRole, build_ctl, read_trust_list
from uccerts.errors import Refused, SystemFailure, UsageError
from uccerts.services.context import Context, resolve_cluster
from uccerts.services.restarts import RestartNeeded
from uccerts.storage.ports import UnitOfWork

MIXED, NON_SECURE = "mixed", "non-secure"
MODES = {MIXED: 1, NON_SECURE: 0}
MODE_NAMES = {value: name for name, value in MODES.items()}

CTL_NON_SECURE = "ctl-non-secure"
CTL_NO_SIGNER = "ctl-no-signer"


@dataclass(frozen=True)
class CtlEntry:
    role: str  # TrustRole value: CCM+TFTP, CAPF, SAST
    node: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "node": self.node, "sha256": self.sha256}


@dataclass(frozen=True)
class NextSteps:
    """What makes the change take effect, in order: the restarts, then a phone reset."""

    restarts: tuple[RestartNeeded, ...] = ()
    reset_phones: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"restart": [r.to_dict() for r in self.restarts],
                "reset_phones": self.reset_phones}


@dataclass(frozen=True)
class SecurityResult:
    cluster: str
    mode: str  # "mixed" | "non-secure"
    changed: bool  # False: the cluster was already so (nothing was written but audit)
    ctl_sha256: str | None  # SHA-256 of the CTL file now in force; None in non-secure
    records: tuple[CtlEntry, ...]  # what that CTL lists
    next_steps: NextSteps
    note: str

    @property
    def security_mode(self) -> int:
        return MODES[self.mode]

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "mode": self.mode,
                "security_mode": self.security_mode, "changed": self.changed,
                "ctl_sha256": self.ctl_sha256,
                "records": [r.to_dict() for r in self.records],
                "next_steps": self.next_steps.to_dict(), "note": self.note}


@dataclass(frozen=True)
class SsoResult:
    cluster: str
    sso_enabled: bool
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "sso_enabled": self.sso_enabled,
                "changed": self.changed}


def parse_mode(text: str) -> str:
    wanted = text.strip().lower()
    if wanted not in MODES:
        raise UsageError(f"Unknown cluster security mode '{text}'",
                         code="invalid-security-mode", fix="Use one of: mixed, non-secure")
    return wanted


def next_steps(nodes: list[Node]) -> NextSteps:
    """Cisco TFTP on every TFTP node (it serves the CTL it read at start), then Cisco
    CallManager on every CallManager node, publisher first; then reset the phones."""
    ordered = order_nodes(nodes)
    restarts = tuple(RestartNeeded(n.hostname, name_of(kind))
                     for kind in (ServiceKind.TFTP, ServiceKind.CALLMANAGER)
                     for n in ordered if n.runs(kind))
    return NextSteps(restarts, reset_phones=True)


class SecurityService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def set_mode(self, mode: str) -> SecurityResult:
        """Mixed: security mode 1 and a new CTL; non-secure: mode 0, no CTL."""
        wanted = parse_mode(mode)
        with self.ctx.uow() as uow:
            cluster, nodes = self._locked(uow)
            if cluster.security_mode == MODES[wanted] and (
                    wanted == NON_SECURE or cluster.ctl_sha256):
                result = self._unchanged(uow, cluster, wanted)
                self.ctx.audit(uow, cluster.name, "security-mode", "ok",
                               detail=f"already {wanted}")
                uow.commit()
                return result
            if wanted == MIXED:
                sha, records = self._store_ctl(uow, cluster, nodes)
                note = ("Cluster security mode is now 1 (mixed); the CTL was built."
                        if cluster.security_mode != 1 else
                        "The cluster was already in mixed mode without a CTL; the CTL was "
                        "built.")
            else:
                sha, records = None, ()
                note = "Cluster security mode is now 0 (non-secure); the CTL is withdrawn."
            uow.clusters.update(replace(cluster, security_mode=MODES[wanted], ctl_sha256=sha))
            self.ctx.audit(uow, cluster.name, "security-mode", "ok",
                           detail=f"{wanted}" + (f"; CTL {sha}" if sha else ""))
            uow.commit()
        return SecurityResult(cluster.name, wanted, True, sha, records, next_steps(nodes),
                              note)

    def update_ctl(self) -> SecurityResult:
        """Rebuild the CTL from the current certificates (mixed mode only)."""
        with self.ctx.uow() as uow:
            cluster, nodes = self._locked(uow)
            if cluster.security_mode != 1:
                uow.rollback()
                self.ctx.audit_refusal(cluster.name, "ctl update",
                                       detail="cluster security mode is 0 (non-secure)")
                raise Refused("The cluster is in non-secure mode: there is no CTL to update",
                              code=CTL_NON_SECURE,
                              fix="Set the cluster's security mode to mixed first")
            sha, records = self._store_ctl(uow, cluster, nodes)
            uow.clusters.update(replace(cluster, ctl_sha256=sha))
            self.ctx.audit(uow, cluster.name, "ctl update", "ok",
                           detail=f"CTL {sha}, {len(records)} certificates")
            uow.commit()
        return SecurityResult(cluster.name, MIXED, True, sha, records, next_steps(nodes),
                              "The CTL was rebuilt from the current certificates.")

    def set_sso(self, enabled: bool) -> SsoResult:
        with self.ctx.uow() as uow:
            cluster, _ = self._locked(uow)
            changed = cluster.sso_enabled != enabled
            if changed:
                uow.clusters.update(replace(cluster, sso_enabled=enabled))
            self.ctx.audit(uow, cluster.name, "sso", "ok",
                           detail=("enabled" if enabled else "disabled")
                           + ("" if changed else " (already)"))
            uow.commit()
        return SsoResult(cluster.name, enabled, changed)

    # ------------------------------------------------------------------ helpers

    def _locked(self, uow: UnitOfWork) -> tuple[Cluster, list[Node]]:
        """The cluster as read after taking the publisher's lock (so that ``update``,
        which writes every field, does not undo a change committed meanwhile)."""
        name = resolve_cluster(uow, self.ctx.cluster).name
        nodes = uow.clusters.nodes(name)
        uow.lock_node(name, _publisher(name, nodes).hostname)
        cluster = uow.clusters.get(name)
        if cluster is None:
            raise SystemFailure(f"Cluster {name} no longer exists", code="cluster-not-found")
        return cluster, nodes

    def _store_ctl(self, uow: UnitOfWork, cluster: Cluster, nodes: list[Node]
                   ) -> tuple[str, tuple[CtlEntry, ...]]:
        return store_ctl(uow, cluster, nodes, self.ctx.clock())

    def _unchanged(self, uow: UnitOfWork, cluster: Cluster, mode: str) -> SecurityResult:
        records: tuple[CtlEntry, ...] = ()
        if cluster.ctl_sha256:
            content = uow.phones.file(cluster.ctl_sha256)
            records = _entries(content) if content is not None else ()
        return SecurityResult(cluster.name, mode, False,
                              cluster.ctl_sha256 if mode == MIXED else None, records,
                              NextSteps(), f"The cluster is already in {mode} mode; "
                                           "nothing changed.")


def store_ctl(uow: UnitOfWork, cluster: Cluster, nodes: list[Node], issued: dt.datetime
              ) -> tuple[str, tuple[CtlEntry, ...]]:
    """Build the CTL from the store now, signed with the publisher's ITLRecovery key, and
    keep it by content; the caller points the cluster at the returned SHA-256."""
    publisher = _publisher(cluster.name, nodes)
    signer = uow.identities.get(cluster.name, publisher.hostname, "ITLRecovery")
    if signer is None or signer.key is None:
        raise Refused(f"{publisher.hostname} has no ITLRecovery certificate to sign "
                      "the CTL", code=CTL_NO_SIGNER,
                      fix=f"Regenerate the ITLRecovery certificate of {publisher.hostname}")
    records = [TrustRecord(TrustRole.SAST, publisher.hostname, signer.certificate)]
    capf = uow.identities.get(cluster.name, publisher.hostname, "CAPF", with_key=False)
    if capf is not None:
        records.append(TrustRecord(TrustRole.CAPF, publisher.hostname, capf.certificate))
    for node in nodes:
        if node.runs(ServiceKind.TFTP) or node.runs(ServiceKind.CALLMANAGER):
            cm = uow.identities.get(cluster.name, node.hostname, "CallManager",
                                    with_key=False)
            if cm is not None:
                records.append(TrustRecord(TrustRole.CCM_TFTP, node.hostname,
                                           cm.certificate))
    content = build_ctl(records, signer.certificate, signer.key, issued=issued)
    sha = hashlib.sha256(content).hexdigest()
    uow.phones.put_file(sha, content)
    return sha, _entries(content)


def _entries(content: bytes) -> tuple[CtlEntry, ...]:
    """The records as the CTL file itself lists them (its order, verified)."""
    return tuple(CtlEntry(r.role.value, r.node, r.sha256)
                 for r in read_trust_list(content, CTL).records)


def _publisher(cluster: str, nodes: list[Node]) -> Node:
    for node in nodes:
        if node.role is Role.PUBLISHER:
            return node
    raise SystemFailure(f"Cluster {cluster} has no publisher", code="no-publisher")
