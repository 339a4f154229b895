"""Clusters and their nodes over SQLAlchemy Core.
"""

from __future__ import annotations

import builtins

from sqlalchemy import (
    bindparam,
    select,
)

from uccerts.domain.model import (
    Cluster,
    Node,
)
from uccerts.errors import NotFound, Refused
from uccerts.storage import tables as t
from uccerts.storage.sql_tx import PUBLISHER_FIRST, Tx

# Hot reads (every use case locates its node), built once: no expression per call.
_ALL_CLUSTERS = select(t.clusters).order_by(t.clusters.c.name)
_NODES_OF = (select(t.nodes).join(t.clusters).where(t.clusters.c.name == bindparam("cluster"))
             .order_by(PUBLISHER_FIRST, t.nodes.c.id))


class SqlClusterRepo:
    def __init__(self, tx: Tx) -> None:
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
        rows = self._tx.execute(_ALL_CLUSTERS)
        return [t.cluster_from_row(r) for r in rows]

    def update(self, cluster: Cluster) -> None:
        values = t.cluster_values(cluster)
        del values["name"], values["domain"]
        done = self._tx.execute(t.clusters.update().where(t.clusters.c.name == cluster.name)
                                .values(**values))
        if done.rowcount == 0:
            raise NotFound(f"Cluster {cluster.name} does not exist", code="cluster-not-found")

    def nodes(self, cluster: str) -> builtins.list[Node]:
        rows = self._tx.execute(_NODES_OF, params={"cluster": cluster}).all()
        self._tx.remember_nodes(cluster, ((r.hostname_key, r.id) for r in rows))
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
