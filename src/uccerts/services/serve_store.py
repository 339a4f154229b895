"""The running cluster's hooks over the store: what each service loads when it
starts, what it loaded before, activation, phones and their trust lists, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from uccerts.domain.chain import find_issuer_path
from uccerts.domain.model import Cluster, Identity, Node, PhoneRecord, ServiceLoad
from uccerts.domain.purposes import Role, Service, ServiceKind, purpose, service
from uccerts.domain.signedfile import cert_sha256
from uccerts.domain.states import ServiceState
from uccerts.domain.trustlist import build_itl, itl_records
from uccerts.errors import SystemFailure
from uccerts.runtime import tftp, tvs
from uccerts.runtime.ports import Change, PhoneSetup, PhoneTrust
from uccerts.services.context import Context
from uccerts.storage.ports import UnitOfWork

ECDSA_COMPANION_OF = "tomcat"  # the purpose whose service also presents its -ECDSA
MAC_BASE = 0x00AA00000000  # simulated phones: SEP00AA00000001, SEP00AA00000002, …


class StoreHooks:
    """``runtime.ports.Hooks`` for one cluster, each call its own unit of work."""

    def __init__(self, ctx: Context, cluster: str) -> None:
        self._ctx, self._cluster = ctx, cluster

    # ------------------------------------------------------------ services

    def prepare(self, node: str, service_name: str) -> ServiceLoad:
        svc = service(service_name)
        assert svc.certificate is not None
        with self._ctx.read() as uow:
            cluster = self._cluster_row(uow)
            identity = uow.identities.get(cluster.name, node, purpose(svc.certificate).name)
            if identity is None or identity.key is None:
                raise SystemFailure(f"{node} has no {svc.certificate} certificate for {svc.name}",
                                    code="service-no-certificate",
                                    fix=f"Regenerate the {svc.certificate} certificate of {node}")
            loads = _LOADS.get(svc.kind, _chain_pem)
            snapshot = loads(_Loading(uow, cluster, node, identity, svc, self._ctx.clock()))
        return ServiceLoad(node=node, service=svc.name, state=ServiceState.STARTED,
                           certificate=identity.certificate, key=identity.key,
                           snapshot=snapshot, loaded_at=self._ctx.clock())

    def ecdsa_load(self, node: str, service_name: str) -> ServiceLoad | None:
        # The web listener (443/8443) answers ECDSA-only clients with tomcat-ECDSA, as
        # the appliance does. It is read when the service starts, also when a restarted
        # serve brings the RSA load back as it was.
        svc = service(service_name)
        if svc.certificate != ECDSA_COMPANION_OF:
            return None
        ec = purpose(f"{svc.certificate}-ECDSA").name
        with self._ctx.read() as uow:
            cluster = self._cluster_row(uow)
            identity = uow.identities.get(cluster.name, node, ec)
            if identity is None or identity.key is None:
                return None
            chain = _chain_pem(_Loading(uow, cluster, node, identity, svc, self._ctx.clock()))
        return ServiceLoad(node=node, service=svc.name, state=ServiceState.STARTED,
                           certificate=identity.certificate, key=identity.key,
                           snapshot=chain, loaded_at=self._ctx.clock())

    def _cluster_row(self, uow: UnitOfWork) -> Cluster:
        cluster = uow.clusters.get(self._cluster)
        if cluster is None:
            raise SystemFailure(f"Cluster {self._cluster} no longer exists",
                                code="cluster-not-found", fix="Stop serve and init again")
        return cluster

    def installed(self, node: str) -> dict[str, str]:
        """SHA-256 of the identity certificate stored now, by purpose, for ``node``."""
        with self._ctx.read() as uow:
            return {i.purpose: cert_sha256(i.certificate)
                    for i in uow.identities.list(self._cluster, node)}

    def saved_loads(self) -> Sequence[ServiceLoad]:
        with self._ctx.read() as uow:
            return uow.runtime.loads(self._cluster)

    def save_load(self, load: ServiceLoad) -> None:
        with self._ctx.uow() as uow:
            uow.runtime.put_load(self._cluster, load)
            uow.commit()

    def set_activated(self, node: str, service_name: str, activated: bool) -> None:
        with self._ctx.uow() as uow:
            uow.lock_node(self._cluster, node)
            current = uow.clusters.node(self._cluster, node)
            if current is None:
                raise SystemFailure(f"Node {node} no longer exists", code="node-not-found")
            names = [s for s in current.services if s != service_name]
            if activated:
                names.append(service_name)
            uow.clusters.update_node(self._cluster, replace(current, services=tuple(names)))
            if not activated:
                uow.runtime.delete_load(self._cluster, node, service_name)
            uow.commit()

    # ------------------------------------------------------------ phones

    def phones(self) -> list[PhoneSetup]:
        """The cluster's phones with the lists they hold; created on first use from the
        topology's count, spread over the nodes running CallManager."""
        with self._ctx.uow() as uow:
            cluster = self._cluster_row(uow)
            records = uow.phones.list(cluster.name)
            if not records and cluster.phone_count:
                records = plan_phones(cluster, uow.clusters.nodes(cluster.name))
                uow.phones.add(cluster.name, records)
                uow.commit()
            files: dict[str, bytes | None] = {}
            for r in records:
                for sha in (r.itl_sha256, r.ctl_sha256):
                    if sha and sha not in files:
                        files[sha] = uow.phones.file(sha)
        return [PhoneSetup(r.mac, r.tftp_node, r.cm_node,
                           files.get(r.itl_sha256) if r.itl_sha256 else None,
                           files.get(r.ctl_sha256) if r.ctl_sha256 else None)
                for r in records]

    def save_phone_trust(self, updates: Sequence[PhoneTrust]) -> None:
        rows = []
        with self._ctx.uow() as uow:
            known: dict[bytes, str] = {}
            for u in updates:
                shas: list[str | None] = []
                for data in (u.itl, u.ctl):
                    if data is None:
                        shas.append(None)
                        continue
                    sha = known.get(data)
                    if sha is None:
                        sha = hashlib.sha256(data).hexdigest()
                        uow.phones.put_file(sha, data)
                        known[data] = sha
                    shas.append(sha)
                rows.append((u.mac, shas[0], shas[1]))
            uow.phones.set_trust(self._cluster, rows)
            uow.commit()

    def record(self, change: Change) -> None:
        ctx = replace(self._ctx, actor=change.actor, source=change.source)
        with self._ctx.uow() as uow:
            ctx.audit(uow, self._cluster, change.action, change.outcome, node=change.node,
                      detail=change.detail)
            uow.commit()


# ------------------------------------------------------------ what a service loads


@dataclass(frozen=True)
class _Loading:
    """What a service's start reads from the store, within one unit of work."""

    uow: UnitOfWork
    cluster: Cluster
    node: str
    identity: Identity  # the certificate (and key) the service uses
    service: Service
    now: dt.datetime


def _tftp_files(at: _Loading) -> bytes:
    """TFTP's signed files: the ITL (every TFTP node's CallManager, every TVS, the
    publisher's CAPF), signed with this node's CallManager key; the CTL in mixed mode."""
    uow, cluster = at.uow, at.cluster
    triples = []
    for n in uow.clusters.nodes(cluster.name):
        wanted = []
        if n.runs(ServiceKind.TFTP):
            wanted.append("CallManager")
        if n.runs(ServiceKind.TVS):
            wanted.append("TVS")
        if n.role is Role.PUBLISHER:
            wanted.append("CAPF")
        for name in wanted:
            ident = uow.identities.get(cluster.name, n.hostname, name, with_key=False)
            if ident is not None:
                triples.append((n.hostname, name, ident.certificate))
    itl = build_itl(itl_records(triples), at.identity.certificate,
                    at.identity.key,  # type: ignore[arg-type]
                    issued=at.now)
    ctl = None
    if cluster.security_mode == 1 and cluster.ctl_sha256:
        ctl = uow.phones.file(cluster.ctl_sha256)
    return tftp.TftpFiles(itl, ctl, cluster.security_mode).encode()


def _tvs_trust(at: _Loading) -> bytes:
    """TVS's trusted set: every identity certificate of the cluster, by SHA-256."""
    trusted: dict[str, list[str]] = {}
    for ident in at.uow.identities.list(at.cluster.name):
        trusted.setdefault(cert_sha256(ident.certificate), []).append(
            f"{ident.purpose}@{ident.node}")
    return tvs.encode_snapshot(trusted)


def _chain_pem(at: _Loading) -> bytes:
    """The intermediates a TLS service sends after a CA-signed certificate, from the
    node's trust store for the purpose (roots are not sent: the client has them)."""
    leaf = at.identity.certificate
    assert at.service.certificate is not None
    store = purpose(at.service.certificate).trust_store
    if store is None or leaf.issuer == leaf.subject:
        return b""

    def lookup(name: x509.Name) -> list[x509.Certificate]:
        return [e.certificate
                for e in at.uow.trust.by_subject(at.cluster.name, at.node, store, name)]

    intermediates, _ = find_issuer_path(leaf, lookup)
    return b"".join(c.public_bytes(Encoding.PEM) for c in intermediates)


# What a kind of service loads at start besides its certificate and key; every kind
# not listed is a TLS listener and loads the chain it sends.
_LOADS: dict[ServiceKind, Callable[[_Loading], bytes]] = {
    ServiceKind.TFTP: _tftp_files,
    ServiceKind.TVS: _tvs_trust,
}


def plan_phones(cluster: Cluster, nodes: Sequence[Node]) -> list[PhoneRecord]:
    """``phone_count`` phones, round-robin over the CallManager nodes; each fetches its
    files from its own node when that runs TFTP, else from the first TFTP node."""
    cms = [n for n in nodes if n.runs(ServiceKind.CALLMANAGER)]
    tftps = [n for n in nodes if n.runs(ServiceKind.TFTP)]
    if not cms or not tftps:
        return []
    phones = []
    for i in range(cluster.phone_count):
        cm = cms[i % len(cms)]
        tftp_node = cm if cm in tftps else tftps[0]
        phones.append(PhoneRecord(mac=f"{MAC_BASE + i + 1:012X}", tftp_node=tftp_node.hostname,
                                  cm_node=cm.hostname))
    return phones
