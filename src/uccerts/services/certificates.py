"""Certificate use cases: list, show, upload (identity or trust), regenerate (§5, §7)."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509

from uccerts.domain.checks import UploadVerdict, check_identity_upload
from uccerts.domain.codec import load_certificates
from uccerts.domain.findings import Finding
from uccerts.domain.model import Cluster, Identity, Node, PendingCsr, TrustEntry
from uccerts.domain.names import common_name
from uccerts.domain.purposes import (
    PURPOSES,
    TRUST_STORES,
    Purpose,
    is_trust_store,
    purpose,
    trust_store,
)
from uccerts.errors import FindingsError, NotFound, UccertsError, UsageError
from uccerts.services.cluster import identity_filename, replacement_self_signed
from uccerts.services.context import Context, Site, find_node, locate, resolve_cluster
from uccerts.services.restarts import RestartNeeded, restarts_for
from uccerts.services.trust import Installed, TrustService, clean_description, import_trust
from uccerts.services.trust_own import TrustReader
from uccerts.services.views import CertView, identity_view, sha256_of, trust_view
from uccerts.storage.ports import UnitOfWork

REGENERATE_WARNING = ("WARNING: This operation will overwrite any CA signed certificate "
                      "previously imported for {purpose}")
REGENERATED_NOTE = ("You must restart services related to {purpose} for the regenerated "
                    "certificates to become active.")
UPLOAD_OK = "Certificate upload operation successful"
CATALOGUE_ORDER = {name: i for i, name in enumerate(
    [p.name for p in PURPOSES] + [s.name for s in TRUST_STORES])}


@dataclass(frozen=True)
class UploadResult:
    node: str
    purpose: str
    installed: tuple[Installed, ...]
    services_to_restart: tuple[RestartNeeded, ...] = ()
    warnings: tuple[Finding, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": True, "node": self.node, "purpose": self.purpose,
            "installed": [i.to_dict() for i in self.installed],
            "services_to_restart": [r.to_dict() for r in self.services_to_restart],
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class RegenerateResult:
    view: CertView
    services_to_restart: tuple[RestartNeeded, ...]
    message: str


def _identity_purpose(name: str) -> Purpose:
    p = purpose(name)
    if p.self_signed_only or p.trust_store is None:
        raise UsageError(f"{p.name} is always self-signed: it takes no CA-signed upload",
                         code="self-signed-only",
                         fix=f"Regenerate the self-signed {p.name} certificate instead")
    return p


def _verdict(uow: UnitOfWork, cluster: Cluster, node: Node, p: Purpose,
             certs: Sequence[x509.Certificate], strict: bool, now: dt.datetime,
             *, with_key: bool) -> tuple[UploadVerdict, PendingCsr | None]:
    """The §5 checks against the node's pending CSR and <purpose>-trust, as stored;
    the CSR's key is unsealed only when the upload will install it."""
    node.require(p)
    store = p.trust_store or ""
    pending = uow.csrs.get(cluster.name, node.hostname, p.name, with_key=with_key)

    def trusted(name: x509.Name) -> list[x509.Certificate]:
        return [e.certificate
                for e in uow.trust.by_subject(cluster.name, node.hostname, store, name)]

    verdict = check_identity_upload(p, certs, pending.csr if pending else None, trusted,
                                    now=now, san_match=cluster.san_match, strict=strict)
    return verdict, pending


def _targets(uow: UnitOfWork, site: Site, pending: PendingCsr | None) -> list[Node]:
    """The nodes a CA-signed certificate goes to: every node its CSR named that still
    holds that CSR (a node whose CSR was replaced since keeps its own)."""
    if pending is None or set(pending.nodes) <= {site.node.hostname}:
        return [site.node]
    same = {c.node for c in uow.csrs.list(site.cluster.name)
            if c.purpose == pending.purpose and c.csr == pending.csr}
    return [n for n in site.nodes
            if n.hostname in pending.nodes and n.hostname in same] or [site.node]


_CSR_CHANGED = Finding(
    "csr-changed", "The pending CSR changed while the certificate was being checked",
    fix="Another user generated or removed the CSR: have the CA sign the CSR now pending, "
        "then upload again")
_TRUST_CHANGED = Finding(
    "trust-changed", "The trust store changed while the certificate was being checked",
    fix="A CA certificate the chain relies on was removed: upload again")


def _changed_since_checked(uow: UnitOfWork, cluster: str, node: str, store: str,
                           checked: PendingCsr, pending: PendingCsr | None,
                           verdict: UploadVerdict) -> Finding | None:
    """Under the lock: what changed since the checks ran (read without the lock), as
    a finding, or None. The CSR by its DER (its fingerprint); each CA of the verified
    chain that the file did not bring must still be in the trust store."""
    if pending is None or pending.csr != checked.csr:
        return _CSR_CHANGED
    brought = set(verdict.ca_certificates)
    for ca in verdict.chain[1:]:
        if ca not in brought and ca not in [
                e.certificate for e in uow.trust.by_subject(cluster, node, store, ca.subject)]:
            return _TRUST_CHANGED
    return None


class CertificateService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.trust = TrustService(ctx)

    # --- reading ---------------------------------------------------------------------

    def list(self, hostname: str | None = None, purpose_name: str | None = None,
             kind: str | None = None, *, expiring_within_days: int | None = None
             ) -> builtins.list[CertView]:
        """Identity and trust certificates, as the appliance lists them: node by node,
        identities first, catalogue order; optionally only those expiring soon."""
        if kind not in (None, "own", "trust"):
            raise UsageError(f"Unknown type '{kind}'", code="invalid-type",
                             fix="Use one of: own, trust")
        store = trust_store(purpose_name).name if purpose_name and is_trust_store(
            purpose_name) else None
        identity = purpose(purpose_name).name if purpose_name and not store else None
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster)
            nodes = uow.clusters.nodes(cluster.name)
            node = find_node(cluster, nodes, hostname).hostname if hostname else None
            own: builtins.list[Identity | TrustEntry] = []
            if kind in (None, "own") and not store:
                own += [i for i in uow.identities.list(cluster.name, node)
                        if identity in (None, i.purpose)]
            if kind in (None, "trust") and not identity:
                own += TrustReader(uow, cluster.name).list(node, store,
                                                           [n.hostname for n in nodes])
        if expiring_within_days is not None:
            limit = self.ctx.clock() + dt.timedelta(days=expiring_within_days)
            own = [c for c in own if c.certificate.not_valid_after_utc <= limit]
        views = [identity_view(c) if isinstance(c, Identity) else trust_view(c) for c in own]
        order = {n.hostname: i for i, n in enumerate(nodes)}
        return sorted(views, key=lambda v: (order.get(v.node, 99), v.type != "own",
                                            CATALOGUE_ORDER.get(v.purpose, 99), v.filename))

    def show(self, hostname: str, purpose_name: str, filename: str | None = None) -> CertView:
        with self.ctx.read() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            cluster, node = site.cluster, site.node
            if is_trust_store(purpose_name):
                store = trust_store(purpose_name)
                if not filename:
                    raise UsageError("A trust store holds many certificates: name one",
                                     code="file-required", fix="Name the file (NAME.pem)")
                entry = TrustReader(uow, cluster.name).get(node.hostname, store.name,
                                                           filename)
                if entry is None:
                    raise NotFound(f"No file '{filename}' in {store.name} on {node.hostname}",
                                   code="trust-file-not-found",
                                   fix="List the trust certificates to find its file name")
                return trust_view(entry)
            p = purpose(purpose_name)
            identity = uow.identities.get(cluster.name, node.hostname, p.name, with_key=False)
        if identity is None:
            raise NotFound(f"{node.hostname} has no {p.name} certificate",
                           code="identity-not-found",
                           fix="This purpose does not apply to the node's role")
        return identity_view(identity)

    # --- uploading ---------------------------------------------------------------------

    def upload(self, hostname: str, purpose_name: str, data: bytes,
               description: str | None = None, *, strict: bool = False) -> UploadResult:
        # Names first, then the file: an unknown node or purpose is a usage error (exit 2)
        # whatever the file holds.
        trust = is_trust_store(purpose_name)
        try:
            if trust:
                installed = self.trust.upload(hostname, purpose_name, data, description)
                return UploadResult(hostname, trust_store(purpose_name).name,
                                    tuple(installed))
            return self._upload_identity(hostname, _identity_purpose(purpose_name), data,
                                         description, strict)
        except UccertsError as err:
            # Every refusal leaves one entry, whatever refused it: an unknown name, an
            # unreadable file (a key, random text) or a failed §5/§6 check.
            self.audit_refused("trust upload" if trust else "certificate upload",
                                hostname, purpose_name, err)
            raise

    def audit_refused(self, action: str, hostname: str, purpose_name: str,
                       err: UccertsError) -> None:
        """One ``refused`` entry for an upload refused before or by its checks."""
        detail = ("; ".join(f.code for f in err.errors) if isinstance(err, FindingsError)
                  else f"{err.code}: {err.detail or err.message}")
        cluster = self.ctx.cluster or ""
        if not cluster:
            with self.ctx.read() as uow:
                known = uow.clusters.list()
                cluster = known[0].name if len(known) == 1 else ""
        self.ctx.audit_refusal(cluster, action, node=hostname, purpose=purpose_name,
                               detail=detail)

    def validate(self, hostname: str, purpose_name: str, data: bytes, *,
                 strict: bool = False) -> UploadResult:
        """A dry run of ``upload``: every check against the pending CSR and the trust
        store as they are now, nothing written. Raises ``FindingsError`` as upload does;
        on success the result names what the upload would install and restart."""
        if is_trust_store(purpose_name):
            would_add = self.trust.validate(hostname, purpose_name, data)
            return UploadResult(hostname, trust_store(purpose_name).name, tuple(would_add))
        p = _identity_purpose(purpose_name)
        with self.ctx.read() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            cluster, node = site.cluster, site.node
            node.require(p)
            certs = load_certificates(data)
            verdict, pending = _verdict(uow, cluster, node, p, certs, strict, self.ctx.clock(),
                                        with_key=False)
            targets = _targets(uow, site, pending)
        if not verdict.ok or verdict.leaf is None or pending is None:
            raise FindingsError(verdict.findings)
        would = tuple(Installed(t.hostname, p.name, identity_filename(p.name),
                                sha256_of(verdict.leaf)) for t in targets)
        return UploadResult(node.hostname, p.name, would, restarts_for(cluster, p, targets),
                            verdict.warnings)

    def _upload_identity(self, hostname: str, p: Purpose, data: bytes,
                         description: str | None, strict: bool) -> UploadResult:
        store = trust_store(p.trust_store or "")
        # The checks (parsing, chain building and verification) run in a read-only unit
        # of work: on SQLite a writer holds the database's one write lock, and no other
        # writer should wait on a path validation.
        with self.ctx.read() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            cluster, node = site.cluster, site.node
            node.require(p)
            certs = load_certificates(data)
            verdict, checked = _verdict(uow, cluster, node, p, certs, strict, self.ctx.clock(),
                                        with_key=False)
        if not verdict.ok or verdict.leaf is None or checked is None:
            raise FindingsError(verdict.findings)  # the caller audits the refusal
        with self.ctx.uow() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            # Several nodes may change (multi-server, replicated trust): lock them all,
            # in the one global order, then make sure what the checks relied on still
            # holds: the same pending CSR, and the trust store's CAs on the chain.
            site.lock_all(uow)
            pending = uow.csrs.get(cluster.name, node.hostname, p.name, with_key=True)
            changed = _changed_since_checked(uow, cluster.name, node.hostname, store.name,
                                             checked, pending, verdict)
            if changed is not None or pending is None:
                uow.rollback()  # the caller audits the refusal
                raise FindingsError((changed or _CSR_CHANGED,))
            targets = _targets(uow, site, pending)
            installed: builtins.list[Installed] = []
            description = clean_description(
                description, f"Certificate Signed by {common_name(verdict.leaf.issuer)}")
            for target in targets:
                uow.identities.put(cluster.name, Identity(
                    node=target.hostname, purpose=p.name, certificate=verdict.leaf,
                    filename=identity_filename(p.name), description=description,
                    distribution=pending.distribution, key=pending.key))
                uow.csrs.delete(cluster.name, target.hostname, p.name)
                installed.append(Installed(target.hostname, p.name, identity_filename(p.name),
                                           sha256_of(verdict.leaf)))
            warnings = list(verdict.warnings)
            if verdict.ca_certificates:
                added, skipped = import_trust(uow, self.ctx, site, store,
                                              list(verdict.ca_certificates),
                                              "Trust Certificate", strict=False)
                installed += added
                warnings += skipped
            self.ctx.audit(uow, cluster.name, "certificate upload", "ok", node=node.hostname,
                           purpose=p.name,
                           detail=f"{UPLOAD_OK}: {', '.join(t.hostname for t in targets)}")
            uow.commit()
        return UploadResult(node.hostname, p.name, tuple(installed),
                            restarts_for(cluster, p, targets), tuple(warnings))

    # --- self-signed -------------------------------------------------------------------

    def regenerate(self, hostname: str, purpose_name: str, *, key_length: int | None = None,
                   hash_name: str | None = None) -> RegenerateResult:
        p = purpose(purpose_name)
        with self.ctx.read() as uow:
            site = locate(uow, self.ctx.cluster, hostname)
            cluster, node = site.cluster, site.node
            node.require(p)
            current = uow.identities.get(cluster.name, node.hostname, p.name, with_key=False)
        identity = replacement_self_signed(self.ctx, p, node, current, key_length, hash_name)
        view = identity_view(identity)
        with self.ctx.uow() as uow:
            uow.lock_node(cluster.name, node.hostname)
            uow.identities.put(cluster.name, identity)
            self.ctx.audit(uow, cluster.name, "certificate regenerate", "ok",
                           node=node.hostname, purpose=p.name,
                           detail=f"self-signed {view.key_type} {view.key_size}")
            uow.commit()
        return RegenerateResult(view, restarts_for(cluster, p, [node]),
                                REGENERATED_NOTE.format(purpose=p.name))

    def delete(self, hostname: str, store_name: str, filename: str
               ) -> builtins.list[Installed]:
        if not is_trust_store(store_name):
            purpose(store_name)  # unknown names are usage errors
            raise UsageError(
                "Only trust certificates can be deleted; identity certificates are replaced",
                code="identity-not-deletable",
                fix=f"Regenerate or upload a new {store_name} certificate instead")
        return self.trust.delete(hostname, store_name, filename)

