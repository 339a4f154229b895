"""What every use case needs: the unit of work, a clock, key generation, who acts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from uccerts.domain.keys import PrivateKey, generate_key
from uccerts.domain.model import AuditEntry, Cluster, Node
from uccerts.domain.purposes import KeyType
from uccerts.errors import NotFound, UsageError
from uccerts.services.clock import Clock as Clock  # re-exported: the use cases import it here
from uccerts.services.clock import utc_now as utc_now
from uccerts.storage.ports import UnitOfWork, UowFactory

KeyFactory = Callable[[KeyType, int], PrivateKey]


@dataclass(frozen=True)
class Context:
    uow: UowFactory
    clock: Clock = utc_now
    keygen: KeyFactory = generate_key
    actor: str = "system"
    source: str = "cli"
    cluster: str | None = None  # the cluster commands act on; None: the only one
    # Units of work that only read (no write lock on SQLite); None: ``uow`` serves both.
    read_uow: UowFactory | None = None

    def read(self) -> UnitOfWork:
        return (self.read_uow or self.uow)()

    def audit(self, uow: UnitOfWork, cluster: str, action: str, outcome: str, *,
              node: str = "", purpose: str = "", detail: str = "") -> None:
        uow.audit.add(AuditEntry(at=self.clock(), actor=self.actor, action=action,
                                 outcome=outcome, node=node, purpose=purpose,
                                 detail=detail[:1000], source=self.source, cluster=cluster))

    def audit_refusal(self, cluster: str, action: str, *, node: str = "", purpose: str = "",
                      detail: str = "") -> None:
        """Record a refused change in its own transaction: the refused one rolled back."""
        with self.uow() as uow:
            self.audit(uow, cluster, action, "refused", node=node, purpose=purpose,
                       detail=detail)
            uow.commit()


def lock_nodes(uow: UnitOfWork, cluster: str, hostnames: Iterable[str]) -> None:
    """Lock nodes in one global order (sorted names) before any write: two use cases
    that touch several nodes then never wait on each other crosswise (no deadlock)."""
    for hostname in sorted(set(hostnames)):
        uow.lock_node(cluster, hostname)


@dataclass(frozen=True)
class Site:
    """A node in its cluster, with the cluster's nodes as read once in this unit of
    work (so a use case touching several nodes does not read the list again)."""

    cluster: Cluster
    node: Node
    nodes: tuple[Node, ...]

    def lock_all(self, uow: UnitOfWork) -> None:
        """Lock every node: a change that may reach several (multi-server, replication)."""
        lock_nodes(uow, self.cluster.name, (n.hostname for n in self.nodes))


def locate(uow: UnitOfWork, cluster_name: str | None, hostname: str) -> Site:
    cluster = resolve_cluster(uow, cluster_name)
    nodes = tuple(uow.clusters.nodes(cluster.name))
    return Site(cluster, find_node(cluster, nodes, hostname), nodes)


def resolve_cluster(uow: UnitOfWork, name: str | None) -> Cluster:
    if name:
        cluster = uow.clusters.get(name)
        if cluster is None:
            raise NotFound(f"No cluster named '{name}'", code="unknown-cluster",
                           fix="Name one of the clusters in this database")
        return cluster
    clusters = uow.clusters.list()
    if not clusters:
        raise NotFound("No cluster exists yet", code="no-cluster",
                       fix="Create one from a topology file")
    if len(clusters) > 1:
        names = ", ".join(c.name for c in clusters)
        raise UsageError(f"Several clusters exist ({names}); say which one",
                         code="cluster-ambiguous", fix="Name the cluster")
    return clusters[0]


def resolve_node(uow: UnitOfWork, cluster: Cluster, hostname: str) -> Node:
    return find_node(cluster, uow.clusters.nodes(cluster.name), hostname)


def find_node(cluster: Cluster, nodes: Sequence[Node], hostname: str) -> Node:
    """A node by host name or FQDN, case-insensitively; unknown names list the known."""
    wanted = hostname.strip().lower()
    for node in nodes:
        if wanted in (node.hostname.lower(), node.fqdn.lower()):
            return node
    known = ", ".join(n.hostname for n in nodes)
    raise NotFound(f"Unknown node '{hostname}' in cluster {cluster.name}",
                   code="unknown-node", fix=f"Use one of: {known}")
