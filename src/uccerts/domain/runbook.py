"""The regeneration procedure of domain.md §10 as an ordered plan, and its guards.

A plan is data: numbered steps (what, on which node) and the guards that refuse it,
each with the override that lifts it. Running, recording and resuming the steps is
the services layer's business; deciding them is pure.

Steps, per the seed: check expiry → (SSO off) → generate CSR → the CA signs →
upload root and intermediate to ``<purpose>-trust`` → upload the signed certificate
→ (mixed mode: CTL update) → restart services, publisher first, subscribers one at
a time → (CallManager, CAPF, TVS: reset phones, wait for re-registration) → verify
the served certificate → (SSO back on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from uccerts.domain.model import Cluster, Distribution, Node
from uccerts.domain.purposes import SERVICES, Purpose, Role
from uccerts.domain.restart_plan import order_nodes, plan_restarts
from uccerts.errors import UsageError


class Action(StrEnum):
    CHECK_EXPIRY = "check-expiry"
    DISABLE_SSO = "disable-sso"
    GENERATE_CSR = "generate-csr"
    ENROLL = "enroll"
    UPLOAD_TRUST = "upload-trust"
    UPLOAD_IDENTITY = "upload-identity"
    CTL_UPDATE = "ctl-update"
    RESTART = "restart"
    RESET_PHONES = "reset-phones"
    WAIT_REGISTRATION = "wait-registration"
    VERIFY_SERVED = "verify-served"
    ENABLE_SSO = "enable-sso"


class CaKind(StrEnum):
    MANUAL = "manual"
    LAB = "lab"
    ACME = "acme"


# Changing one of these before the phones re-registered after another strands them
# (domain.md §9): the ITL signer and TVS both unknown to the phone.
ITL_FAMILIES = frozenset({"CallManager", "TVS", "ITLRecovery"})
# Services whose served certificate a client can check after the restart (TLS).
VERIFIABLE = frozenset(s.name for s in SERVICES if s.tls)


class Override(StrEnum):
    MANAGE_SSO = "--manage-sso"
    ITL_RISK = "--allow-itl-risk"
    BACKUP = "--ignore-backup"
    CAPF_NODE = "--allow-capf-node"


@dataclass(frozen=True)
class Step:
    n: int
    node: str
    action: Action
    detail: str
    service: str = ""  # restart / verify-served: the service

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, "node": self.node, "action": self.action.value,
                "detail": self.detail}


@dataclass(frozen=True)
class Guard:
    code: str
    message: str
    override: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "override": self.override}


@dataclass(frozen=True)
class Situation:
    """What the guards look at, read from the cluster when planning."""

    sso_enabled: bool = False
    phones_settled: bool = True  # every phone registered (or none), none resetting
    in_flight: tuple[str, ...] = ()  # purposes of other unfinished runbooks
    backup_running: bool = False


@dataclass(frozen=True)
class Request:
    purpose: Purpose
    nodes: tuple[str, ...] = ()  # host names; empty: every node the purpose applies to
    distribution: Distribution = Distribution.THIS_SERVER
    ca: CaKind = CaKind.LAB
    overrides: frozenset[Override] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Plan:
    purpose: str
    distribution: Distribution
    ca: CaKind
    nodes: tuple[str, ...]  # the nodes whose certificate changes
    csr_nodes: tuple[str, ...]  # where a CSR is generated (multi-server: the publisher)
    steps: tuple[Step, ...]
    guards: tuple[Guard, ...]  # guards that refuse (overridden ones are left out)

    @property
    def refused(self) -> bool:
        return bool(self.guards)

    def to_dict(self) -> dict[str, object]:
        return {"purpose": self.purpose, "distribution": self.distribution.value,
                "ca": self.ca.value, "nodes": list(self.nodes),
                "steps": [s.to_dict() for s in self.steps],
                "guards": [g.to_dict() for g in self.guards]}


def _targets(purpose: Purpose, nodes: Sequence[Node], wanted: Sequence[str]) -> list[Node]:
    if not wanted:
        return [n for n in nodes if purpose.applies_to(n.role)]
    by_name = {n.hostname.lower(): n for n in nodes} | {n.fqdn.lower(): n for n in nodes}
    chosen = []
    for name in wanted:
        node = by_name.get(name.strip().lower())
        if node is None:
            raise UsageError(f"Unknown node '{name}'", code="unknown-node",
                             fix="Use one of: " + ", ".join(n.hostname for n in nodes))
        if node not in chosen:
            chosen.append(node)
    return chosen


def guards_for(request: Request, targets: Sequence[Node], situation: Situation
               ) -> list[Guard]:
    """Every guard of domain.md §10 that applies, whether overridden or not."""
    family = request.purpose.family
    found: list[Guard] = []
    if family == "tomcat" and situation.sso_enabled:
        found.append(Guard("sso-enabled",
                           "SAML SSO is enabled: regenerating tomcat breaks single sign-on. "
                           "Disable SSO first and re-enable it after",
                           Override.MANAGE_SSO.value))
    if family in ITL_FAMILIES:
        others = sorted({p for p in situation.in_flight if p in ITL_FAMILIES} - {family})
        if others:
            found.append(Guard("callmanager-tvs-together",
                               f"{family} must not change while {', '.join(others)} is in "
                               "flight: phones would trust neither the new ITL signer nor "
                               "TVS (ITL mismatch)", Override.ITL_RISK.value))
        elif not situation.phones_settled:
            found.append(Guard("phones-not-registered",
                               f"Phones have not all re-registered since the last change; "
                               f"changing {family} now can strand them (ITL mismatch)",
                               Override.ITL_RISK.value))
    if family == "ipsec" and situation.backup_running:
        found.append(Guard("backup-running",
                           "A backup or restore is running: regenerating ipsec now breaks it",
                           Override.BACKUP.value))
    if family == "CAPF":
        off = [n.hostname for n in targets if n.role is not Role.PUBLISHER]
        if off:
            found.append(Guard("capf-not-publisher",
                               f"CAPF runs on the publisher only, not on {', '.join(off)}; "
                               "the override goes on with the publisher alone",
                               Override.CAPF_NODE.value))
    return found


def plan_runbook(cluster: Cluster, nodes: Sequence[Node], request: Request,
                 situation: Situation) -> Plan:
    purpose = request.purpose
    multi = Distribution(request.distribution) is Distribution.MULTI_SERVER
    targets = order_nodes(_targets(purpose, nodes, request.nodes))
    if not targets:
        raise UsageError(f"No node of this cluster has {purpose.name}",
                         code="purpose-not-on-node", fix="Choose another purpose")
    all_guards = guards_for(request, targets, situation)
    refusing = tuple(g for g in all_guards if g.override not in request.overrides)
    if purpose.family == "CAPF" and Override.CAPF_NODE in request.overrides:
        # The override goes on with the node CAPF runs on, leaving the others out.
        targets = [n for n in targets if n.role is Role.PUBLISHER]
    for node in targets:
        if not purpose.applies_to(node.role) and purpose.family != "CAPF":
            raise UsageError(f"{purpose.name} does not apply to {node.hostname}",
                             code="purpose-not-on-node",
                             fix="Leave that node out of the runbook's nodes")
    if not targets:
        raise UsageError("CAPF runs on the publisher only", code="purpose-not-on-node",
                         fix="Include the publisher in the runbook's nodes")
    publisher = next((n for n in nodes if n.role is Role.PUBLISHER), targets[0])
    csr_nodes = [publisher] if multi else targets
    store = purpose.trust_store or "-"

    steps: list[tuple[str, Action, str, str]] = []
    manage_sso = purpose.family == "tomcat" and situation.sso_enabled and (
        Override.MANAGE_SSO in request.overrides)
    for node in targets:
        steps.append((node.hostname, Action.CHECK_EXPIRY,
                      f"{purpose.name} certificate of {node.hostname}: expiry", ""))
    if manage_sso:
        steps.append((publisher.hostname, Action.DISABLE_SSO, "Disable SAML SSO", ""))
    for node in csr_nodes:
        scope = "multi-server, every named node" if multi else "this-server"
        steps.append((node.hostname, Action.GENERATE_CSR,
                      f"Generate CSR for {purpose.name} ({scope})", ""))
        steps.append((node.hostname, Action.ENROLL,
                      f"The CA signs the CSR ({CaKind(request.ca).value})", ""))
        steps.append((node.hostname, Action.UPLOAD_TRUST,
                      f"Upload root, then intermediate, to {store}", ""))
        installs = ", ".join(n.hostname for n in targets) if multi else node.hostname
        steps.append((node.hostname, Action.UPLOAD_IDENTITY,
                      f"Upload the signed {purpose.name} certificate (installs on "
                      f"{installs})", ""))
    restarts = plan_restarts(cluster, purpose, targets)
    if restarts.ctl_update_first:
        steps.append((publisher.hostname, Action.CTL_UPDATE,
                      "Mixed mode: utils ctl update CTLFile", ""))
    for r in restarts.restarts:
        steps.append((r.node, Action.RESTART, f"Restart {r.service}", r.service))
    if restarts.reset_phones:
        steps.append((publisher.hostname, Action.RESET_PHONES, "Reset all phones", ""))
        steps.append((publisher.hostname, Action.WAIT_REGISTRATION,
                      "Wait until every phone has re-registered", ""))
    for r in restarts.restarts:
        if r.service in VERIFIABLE:
            steps.append((r.node, Action.VERIFY_SERVED,
                          f"{r.service} serves the new certificate", r.service))
    if manage_sso:
        steps.append((publisher.hostname, Action.ENABLE_SSO, "Re-enable SAML SSO", ""))
    return Plan(purpose.name, Distribution(request.distribution), CaKind(request.ca),
                tuple(n.hostname for n in targets), tuple(n.hostname for n in csr_nodes),
                tuple(Step(i, node, action, detail, service)
                      for i, (node, action, detail, service) in enumerate(steps, start=1)),
                refusing)
