"""What the running cluster keeps (service keys, phones) over SQLAlchemy Core.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    bindparam,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from uccerts.domain.model import (
    PhoneRecord,
    ServiceLoad,
)
from uccerts.errors import NotFound, Refused
from uccerts.storage import tables as t
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql_tx import PUBLISHER_FIRST, Tx, on_nodes, seal_context


class SqlRuntimeRepo:
    def __init__(self, tx: Tx, sealer: Sealer) -> None:
        self._tx, self._sealer = tx, sealer

    def loads(self, cluster: str) -> builtins.list[ServiceLoad]:
        rows = self._tx.execute(on_nodes(t.service_loads, cluster, None).order_by(
            PUBLISHER_FIRST, t.nodes.c.id, t.service_loads.c.service)).all()
        return [t.service_load_from_row(r, None if r.sealed_key is None else
                                        self._sealer.open_key(r.sealed_key, seal_context(
                                            "service", cluster, r.hostname, r.service)))
                for r in rows]

    def put_load(self, cluster: str, load: ServiceLoad) -> None:
        nid = self._tx.node_id(cluster, load.node, lock=True)
        sealed = None if load.key is None else self._sealer.seal_key(
            load.key, seal_context("service", cluster, load.node, load.service))
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
    def __init__(self, tx: Tx) -> None:
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
