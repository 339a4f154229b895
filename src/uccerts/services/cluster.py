"""Cluster use cases: create from a topology, show, subject settings (web-security)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography import x509

from uccerts.domain.keys import DEFAULT_LENGTH, PrivateKey, key_size_of, validate_key_settings
from uccerts.domain.model import Cluster, Distribution, Identity, Node, WebSecurity
from uccerts.domain.purposes import Purpose, purpose, purposes_for
from uccerts.domain.selfsigned import SELF_SIGNED_DESCRIPTION, build_self_signed
from uccerts.domain.topology import parse_topology
from uccerts.errors import Refused
from uccerts.services.accounts import AccountRole, hash_password, new_password
from uccerts.services.context import Context, resolve_cluster, resolve_node
from uccerts.services.restarts import RestartNeeded, restarts_for
from uccerts.services.security import store_ctl
from uccerts.services.views import is_self_signed


@dataclass(frozen=True)
class InitResult:
    cluster: Cluster
    nodes: tuple[Node, ...]
    identities: int
    admin_user: str
    admin_password: str  # printed once, stored only as a slow hash


@dataclass(frozen=True)
class WebSecurityResult:
    node: Node
    regenerated: bool
    services_to_restart: tuple[RestartNeeded, ...]
    note: str


def identity_filename(purpose_name: str) -> str:
    return f"{purpose_name}.pem"


def self_signed_identity(ctx: Context, p: Purpose, node: Node, key: PrivateKey,
                         hash_name: str = "SHA256") -> Identity:
    cert = build_self_signed(p, node, key, now=ctx.clock(), serial=x509.random_serial_number(),
                             hash_name=hash_name)
    return Identity(node=node.hostname, purpose=p.name, certificate=cert,
                    filename=identity_filename(p.name), description=SELF_SIGNED_DESCRIPTION,
                    distribution=Distribution.THIS_SERVER, key=key)


def replacement_self_signed(ctx: Context, p: Purpose, node: Node, current: Identity | None,
                            key_length: int | None = None, hash_name: str | None = None
                            ) -> Identity:
    """A new key and self-signed certificate for ``node`` (regenerate, set web-security):
    the current key length is kept unless another is asked for."""
    keep = key_size_of(current.certificate.public_key()) if current else None  # type: ignore[arg-type]
    length, hash_ = validate_key_settings(p.key_type, key_length or keep, hash_name)
    return self_signed_identity(ctx, p, node, ctx.keygen(p.key_type, length), hash_)


class ClusterService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def init(self, topology_text: str, *,
             progress: Callable[[int, int, str], None] | None = None) -> InitResult:
        """Create the cluster; ``progress(done, total, label)`` follows the key generation."""
        topo = parse_topology(topology_text)
        with self.ctx.read() as uow:
            if uow.clusters.get(topo.cluster.name) is not None:
                raise Refused(f"A cluster named '{topo.cluster.name}' already exists",
                              code="cluster-exists",
                              fix="Choose another [cluster] name, or use another home for a "
                                  "new store")
        # Keys are made before the transaction so that no lock is held while they are.
        todo = [(node, p) for node in topo.nodes for p in purposes_for(node.role)]
        identities = []
        for done, (node, p) in enumerate(todo, start=1):
            key = self.ctx.keygen(p.key_type, DEFAULT_LENGTH[p.key_type])
            identities.append(self_signed_identity(self.ctx, p, node, key))
            if progress:
                progress(done, len(todo), f"{node.hostname} {p.name}")
        password = new_password()
        with self.ctx.uow() as uow:
            uow.clusters.add(topo.cluster, list(topo.nodes))
            for identity in identities:
                uow.identities.put(topo.cluster.name, identity)
            if topo.cluster.security_mode == 1:
                # A cluster created in mixed mode has its CTL from the start.
                sha, _ = store_ctl(uow, topo.cluster, list(topo.nodes), self.ctx.clock())
                uow.clusters.update(replace(topo.cluster, ctl_sha256=sha))
            if uow.accounts.get("admin") is None:
                uow.accounts.add("admin", AccountRole.READ_WRITE, hash_password(password),
                                 created=self.ctx.clock())
            else:
                password = ""  # an existing administrator keeps its password
            self.ctx.audit(uow, topo.cluster.name, "cluster init", "ok",
                           detail=f"{len(topo.nodes)} nodes, {len(identities)} certificates")
            uow.commit()
        return InitResult(topo.cluster, topo.nodes, len(identities), "admin", password)

    def show(self) -> tuple[Cluster, builtins.list[Node]]:
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster)
            return cluster, uow.clusters.nodes(cluster.name)

    def list(self) -> builtins.list[Cluster]:
        with self.ctx.read() as uow:
            return uow.clusters.list()

    def node(self, hostname: str) -> Node:
        with self.ctx.read() as uow:
            return resolve_node(uow, resolve_cluster(uow, self.ctx.cluster), hostname)

    def set_web_security(self, hostname: str, ws: WebSecurity) -> WebSecurityResult:
        ws = ws.validated()
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster)
            node = resolve_node(uow, cluster, hostname)
            current = uow.identities.get(cluster.name, node.hostname, "tomcat",
                                         with_key=False)
        updated = replace(node, web_security=ws)
        tomcat = purpose("tomcat")
        # A CA-signed tomcat certificate is kept: only a self-signed one is regenerated.
        regenerate = current is None or is_self_signed(current.certificate)
        identity = (replacement_self_signed(self.ctx, tomcat, updated, current)
                    if regenerate else None)
        with self.ctx.uow() as uow:
            uow.lock_node(cluster.name, node.hostname)
            uow.clusters.update_node(cluster.name, updated)
            if identity is not None:
                uow.identities.put(cluster.name, identity)
            self.ctx.audit(uow, cluster.name, "set web-security", "ok", node=node.hostname,
                           purpose="tomcat",
                           detail="tomcat regenerated" if regenerate else "subject stored")
            uow.commit()
        note = ("The new tomcat certificate is served after Cisco Tomcat restarts."
                if regenerate else
                "tomcat is CA-signed and was kept; the next CSR uses the new subject.")
        restarts = restarts_for(cluster, tomcat, [updated]) if regenerate else ()
        return WebSecurityResult(updated, regenerate, restarts, note)
