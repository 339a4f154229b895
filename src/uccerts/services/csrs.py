"""CSR use cases: generate (one per node and purpose), show, list (domain.md §4)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from uccerts.domain.codec import csr_pem
from uccerts.domain.csr import CsrOptions, CsrPlan, build_csr, plan_csr
from uccerts.domain.model import PendingCsr
from uccerts.domain.purposes import purpose
from uccerts.errors import NotFound
from uccerts.services.context import Context, find_node, resolve_cluster, resolve_node

OVERWRITE_WARNING = ("Warning: Generating a new CSR for a specific certificate type will "
                     "overwrite the existing CSR for that type")
GENERATED = "Success: Certificate Signing Request Generated"
DOWNLOAD_WARNING = ("Warning: Certificate names not listed below do not have a "
                    "corresponding CSR")


@dataclass(frozen=True)
class CsrResult:
    node: str
    plan: CsrPlan
    pem: str
    replaced: bool

    def to_dict(self) -> dict[str, object]:
        p = self.plan
        return {
            "node": self.node, "purpose": p.purpose.name,
            "distribution": p.distribution.value, "common_name": p.common_name,
            "sans": list(p.sans), "key_type": p.key_type.value, "key_length": p.key_length,
            "hash": p.hash, "nodes": list(p.nodes), "replaced": self.replaced, "csr": self.pem,
        }


class CsrService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def generate(self, hostname: str, purpose_name: str, options: CsrOptions) -> CsrResult:
        p = purpose(purpose_name)
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster)
            nodes = uow.clusters.nodes(cluster.name)
            node = find_node(cluster, nodes, hostname)
            plan = plan_csr(p, node, nodes, cluster.domain, options)
        # The key is made outside the transaction; only the store step holds locks.
        key = self.ctx.keygen(plan.key_type, plan.key_length)
        csr = build_csr(plan, key)
        created = self.ctx.clock()
        replaced = False
        with self.ctx.uow() as uow:
            for target in sorted(plan.nodes):  # a fixed order: no lock-order deadlocks
                uow.lock_node(cluster.name, target)
            for target in plan.nodes:
                replaced |= uow.csrs.put(cluster.name, PendingCsr(
                    node=target, purpose=p.name, csr=csr, distribution=plan.distribution,
                    common_name=plan.common_name, sans=plan.sans, key_type=plan.key_type,
                    key_length=plan.key_length, hash=plan.hash, nodes=plan.nodes,
                    created=created, key=key))
            self.ctx.audit(uow, cluster.name, "csr generate", "ok", node=node.hostname,
                           purpose=p.name,
                           detail=f"{plan.distribution.value} CN={plan.common_name} "
                                  f"SANs={','.join(plan.sans)}")
            uow.commit()
        return CsrResult(node.hostname, plan, csr_pem(csr), replaced)

    def get(self, hostname: str, purpose_name: str) -> PendingCsr:
        p = purpose(purpose_name)
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster)
            node = resolve_node(uow, cluster, hostname)
            pending = uow.csrs.get(cluster.name, node.hostname, p.name, with_key=False)
        if pending is None:
            raise NotFound(f"There is no CSR for {p.name} on {node.hostname}",
                           code="csr-not-found",
                           fix=f"Generate a {p.name} CSR for {node.hostname} first")
        return pending  # without its key: the pending key never leaves the store

    def pem(self, hostname: str, purpose_name: str) -> str:
        return csr_pem(self.get(hostname, purpose_name).csr)

    def list(self, hostname: str | None = None) -> builtins.list[PendingCsr]:
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster)
            node = resolve_node(uow, cluster, hostname).hostname if hostname else None
            return uow.csrs.list(cluster.name, node)
