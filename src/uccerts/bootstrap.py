"""The one composition root: settings in, wired use cases out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uccerts.config import Settings
from uccerts.domain.runbook import CaKind
from uccerts.services.accounts import AccountService
from uccerts.services.audit import AuditService
from uccerts.services.certificates import CertificateService
from uccerts.services.cluster import ClusterService
from uccerts.services.context import Context, KeyFactory
from uccerts.services.csrs import CsrService
from uccerts.services.security import SecurityService
from uccerts.storage.ports import UowFactory

if TYPE_CHECKING:
    from uccerts.services.runbook import Control, RunbookService
    from uccerts.services.runbook_ca import Enrollment


@dataclass(frozen=True)
class Services:
    ctx: Context
    clusters: ClusterService
    certificates: CertificateService
    csrs: CsrService
    audit: AuditService
    security: SecurityService
    accounts: AccountService
    close: Callable[[], None] | None = None  # releases the database engine

    def acting_as(self, actor: str, source: str) -> Services:
        """The same use cases, audited as ``actor`` from ``source`` (a web user, an API
        client): cheap, nothing is opened."""
        return _wire(replace(self.ctx, actor=actor, source=source), self.close)

    def dispose(self) -> None:
        if self.close is not None:
            self.close()


def build_from_uow(uow: UowFactory, *, actor: str = "system", source: str = "cli",
                   cluster: str | None = None, keygen: KeyFactory | None = None,
                   read: UowFactory | None = None) -> Services:
    ctx = Context(uow=uow, actor=actor, source=source, cluster=cluster, read_uow=read)
    if keygen is not None:  # tests hand in a faster key source
        ctx = replace(ctx, keygen=keygen)
    return _wire(ctx)


def _wire(ctx: Context, close: Callable[[], None] | None = None) -> Services:
    return Services(ctx, ClusterService(ctx), CertificateService(ctx), CsrService(ctx),
                    AuditService(ctx), SecurityService(ctx), AccountService(ctx), close)


def build_services(settings: Settings, *, actor: str = "system", source: str = "cli",
                   cluster: str | None = None) -> Services:
    from uccerts.storage.engine import make_engine, sqlite_file
    from uccerts.storage.keycheck import check_master_key
    from uccerts.storage.migrate import upgrade
    from uccerts.storage.permissions import home_paths, warn_if_open
    from uccerts.storage.secrets import Sealer, load_or_create_master_key
    from uccerts.storage.sql import SqlStore

    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        sealer = Sealer(load_or_create_master_key(settings.master_key_path,
                                                  settings.master_key_b64))
        store = SqlStore(engine, sealer)
        check_master_key(store.uow, sealer)
    except BaseException:
        engine.dispose()
        raise
    warn_if_open(home_paths(settings.home, sqlite_file(settings.db_url)))
    services = build_from_uow(store.uow, actor=actor, source=source, cluster=cluster,
                              read=store.reader)
    return replace(services, close=engine.dispose)


def build_runbooks(settings: Settings, services: Services, control: Control | None,
                   *, manual_folder: Path | None = None) -> RunbookService:
    """Runbooks with their CA adapters: the lab CA of the home, a manual folder, ACME.
    ``manual_folder`` overrides the folder a manual runbook was started with (import)."""
    from uccerts.enroll.issued import Issued
    from uccerts.enroll.labca import SignOptions
    from uccerts.services.ca import LabCaService
    from uccerts.services.runbook import RunbookService
    from uccerts.services.runbook_ca import AcmeEnrollment, LabEnrollment, ManualEnrollment

    def lab_sign(csr_pem: bytes) -> Issued:
        bundle = LabCaService(settings, services.ctx.clock).sign(csr_pem, SignOptions())
        return Issued(bundle.leaf, (bundle.intermediate,), bundle.root)

    def enrollment(kind: CaKind, options: dict[str, Any]) -> Enrollment:
        if kind is CaKind.LAB:
            return LabEnrollment(lab_sign)
        if kind is CaKind.MANUAL:
            folder = manual_folder or Path(str(options.get("folder") or "csr-out"))
            return ManualEnrollment(folder)
        return AcmeEnrollment(options)

    return RunbookService(services.ctx, control, enrollment)
