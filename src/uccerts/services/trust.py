"""Trust-store use cases (domain.md §6): upload with the same-CN rule, replicate, delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from uccerts.domain.codec import load_certificates
from uccerts.domain.findings import Finding
from uccerts.domain.model import Node, TrustEntry
from uccerts.domain.names import common_name
from uccerts.domain.purposes import TrustStore, trust_store
from uccerts.domain.truststore import decide_trust_upload, order_root_first, trust_filename
from uccerts.errors import FindingsError, NotFound, UsageError
from uccerts.services.context import Context, Site, locate
from uccerts.services.trust_own import TrustReader
from uccerts.services.views import sha256_of
from uccerts.storage.ports import UnitOfWork

DEFAULT_DESCRIPTION = "Trust Certificate"


@dataclass(frozen=True)
class Installed:
    node: str
    purpose: str
    filename: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "purpose": self.purpose, "filename": self.filename,
                "sha256": self.sha256}


def clean_description(text: str | None, default: str) -> str:
    # The admin shell prints "<file>: <description>": a colon or newline would break parsers.
    text = " ".join((text or "").replace(":", " -").split())
    return text[:200] or default


def store_nodes(site: Site, store: TrustStore) -> list[Node]:
    """The nodes a change to ``store`` on the site's node reaches: replicated stores go
    to every node whose role has them."""
    if not store.replicated:
        return [site.node]
    return [n for n in site.nodes if n.role in store.roles]


def check_store_on_node(store: TrustStore, node: Node) -> None:
    if node.role not in store.roles:
        raise UsageError(f"{store.name} does not exist on {node.hostname} ({node.role.value})",
                         code="store-not-on-node",
                         fix="Choose a trust store that this node's role has")


@dataclass(frozen=True)
class TrustChange:
    """One certificate going into one node's store, under a file name."""

    node: str
    certificate: x509.Certificate
    filename: str
    replaces: str | None

    def installed(self, store: str) -> Installed:
        return Installed(self.node, store, self.filename, sha256_of(self.certificate))


def plan_trust(uow: UnitOfWork, ctx: Context, site: Site, store: TrustStore,
               certs: Sequence[x509.Certificate], *, strict: bool
               ) -> tuple[list[TrustChange], list[Finding]]:
    """The §6 rule on every node the store reaches, without writing anything.

    ``strict`` (a trust upload): any refusal raises ``FindingsError``. Not strict (CA
    certificates that came inside an identity upload, whose chain was verified): a
    certificate the store refuses is skipped and reported as a warning.
    """
    cluster, node = site.cluster, site.node
    changes: list[TrustChange] = []
    findings: list[Finding] = []
    reader = TrustReader(uow, cluster.name)  # nodes' own tomcat certificates count too
    for target in store_nodes(site, store):

        def existing(cn: str, _t: Node = target) -> TrustEntry | None:
            return reader.by_common_name(_t.hostname, store.name, cn)

        decisions = decide_trust_upload(store.name, certs, existing, now=ctx.clock())
        refusals = [d.finding for d in decisions if d.finding is not None]
        if refusals and strict:
            raise FindingsError(refusals)
        if target.hostname == node.hostname:  # report once, not once per replica
            findings.extend(f.as_warning() for f in refusals)
        taken = reader.filenames(target.hostname, store.name)
        for decision in decisions:
            if decision.action not in ("add", "replace"):
                continue
            if decision.replaces:
                taken.discard(decision.replaces)
            name = trust_filename(decision.certificate, taken)
            taken.add(name)
            changes.append(TrustChange(target.hostname, decision.certificate, name,
                                       decision.replaces))
    return changes, findings


def import_trust(uow: UnitOfWork, ctx: Context, site: Site, store: TrustStore,
                 certs: Sequence[x509.Certificate], description: str,
                 *, strict: bool) -> tuple[list[Installed], list[Finding]]:
    """Plan, then write. The caller holds the cluster's node locks (``Site.lock_all``)."""
    changes, findings = plan_trust(uow, ctx, site, store, certs, strict=strict)
    cluster = site.cluster.name
    for change in changes:
        if change.replaces:
            uow.trust.delete(cluster, change.node, store.name, change.replaces)
        uow.trust.add(cluster, TrustEntry(change.node, store.name, change.filename,
                                          change.certificate, description, ctx.clock()))
    installed = [c.installed(store.name) for c in changes]
    roots = [c for c in certs if c.issuer == c.subject]
    if store.also_copy_roots_to and roots:
        # CAPF's issuing root must also be in CallManager-trust (domain.md §3); one
        # already there (or a newer one of the same name) is not an error.
        more, _ = import_trust(uow, ctx, site, trust_store(store.also_copy_roots_to), roots,
                               description, strict=False)
        installed += more
    return installed, findings


class TrustService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def upload(self, hostname: str, store_name: str, data: bytes, description: str | None
               ) -> list[Installed]:
        store = trust_store(store_name)
        desc = clean_description(description, DEFAULT_DESCRIPTION)
        with self.ctx.uow() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            cluster, node = site.cluster, site.node
            check_store_on_node(store, node)
            ordered = order_root_first(load_certificates(data))
            site.lock_all(uow)
            # A refusal rolls back; CertificateService.upload audits it (every refusal,
            # an unreadable file too, in one place).
            installed, _ = import_trust(uow, self.ctx, site, store, ordered, desc,
                                        strict=True)
            self.ctx.audit(uow, cluster.name, "trust upload", "ok", node=node.hostname,
                           purpose=store.name,
                           detail=", ".join(common_name(c.subject) for c in ordered))
            uow.commit()
        return installed

    def validate(self, hostname: str, store_name: str, data: bytes) -> list[Installed]:
        """What ``upload`` would install, or its ``FindingsError``; nothing is written."""
        store = trust_store(store_name)
        with self.ctx.read() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            check_store_on_node(store, site.node)
            changes, _ = plan_trust(uow, self.ctx, site, store,
                                    order_root_first(load_certificates(data)), strict=True)
        return [c.installed(store.name) for c in changes]

    def delete(self, hostname: str, store_name: str, filename: str) -> list[Installed]:
        store = trust_store(store_name)
        with self.ctx.uow() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            cluster, node = site.cluster, site.node
            check_store_on_node(store, node)
            site.lock_all(uow)
            reader = TrustReader(uow, cluster.name)
            if reader.is_derived(node.hostname, store.name, filename):
                raise UsageError(
                    f"{filename} in {store.name} is a node's own tomcat certificate: every "
                    "node trusts it while it is that node's identity",
                    code="own-certificate-not-deletable",
                    fix="Regenerate or replace that node's tomcat certificate instead")
            entry = uow.trust.get(cluster.name, node.hostname, store.name, filename)
            if entry is None:
                raise NotFound(f"No file '{filename}' in {store.name} on {node.hostname}",
                               code="trust-file-not-found",
                               fix=f"List the {store.name} certificates of {node.hostname} "
                                   "to find its file name")
            removed = []
            # A delete in a replicated store is cluster-wide: the same certificate goes
            # from every node, whatever its file is called there.
            for target in store_nodes(site, store):
                for other in uow.trust.by_subject(cluster.name, target.hostname, store.name,
                                                  entry.certificate.subject):
                    if other.certificate == entry.certificate:
                        uow.trust.delete(cluster.name, target.hostname, store.name,
                                         other.filename)
                        removed.append(Installed(target.hostname, store.name, other.filename,
                                                 sha256_of(other.certificate)))
            self.ctx.audit(uow, cluster.name, "trust delete", "ok", node=node.hostname,
                           purpose=store.name, detail=filename)
            uow.commit()
        return removed
