"""The one composition root: settings in, wired use cases out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from uccerts.config import Settings
from uccerts.domain.runbook import CaKind
from uccerts.errors import SystemFailure, UsageError
from uccerts.services.accounts import AccountService
from uccerts.services.audit import AuditService
from uccerts.services.certificates import CertificateService
from uccerts.services.cluster import ClusterService
from uccerts.services.context import Clock, Context, KeyFactory, utc_now
from uccerts.services.csrs import CsrService
from uccerts.services.drf import DrfService
from uccerts.services.security import SecurityService
from uccerts.services.tokens import TokenService
from uccerts.services.tools import ToolsService
from uccerts.storage.ports import UowFactory

if TYPE_CHECKING:
    from uccerts.domain.runbook_options import RunbookOptions
    from uccerts.services.ca import LabCaService
    from uccerts.services.control import Blocking
    from uccerts.services.runbook import RunbookService
    from uccerts.services.runbook_ca import Enrollment
    from uccerts.services.serve import ServeService


@dataclass(frozen=True)
class Services:
    ctx: Context
    clusters: ClusterService
    certificates: CertificateService
    csrs: CsrService
    audit: AuditService
    security: SecurityService
    accounts: AccountService
    drf: DrfService
    tools: ToolsService  # decode, match, check on this context's clock
    tokens: TokenService  # API tokens for scripts
    close: Callable[[], None] | None = None  # releases the database engine
    settings: Settings | None = None  # the home (lab CA, serve); None: a store only

    def acting_as(self, actor: str, source: str) -> Services:
        """The same use cases, audited as ``actor`` from ``source`` (a web user, an API
        client): cheap, nothing is opened."""
        return _wire(replace(self.ctx, actor=actor, source=source), self.close,
                     self.settings)

    @property
    def lab_ca(self) -> LabCaService:
        """The lab CA of the home, on this context's clock."""
        return build_lab_ca(self._home(), self.ctx.clock)

    def serve(self) -> ServeService:
        """The whole cluster of this store running in this process (``uccerts serve``)."""
        from uccerts.services.serve import ServeService

        return ServeService(self.ctx, self._home().home)

    def now(self) -> dt.datetime:
        """The context's clock: what a face shows as "now" (never its own clock)."""
        return self.ctx.clock()

    def _home(self) -> Settings:
        if self.settings is None:
            raise UsageError("These services were built without a home folder",
                             code="no-home", fix="Build them with build_services(settings)")
        return self.settings

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


def _wire(ctx: Context, close: Callable[[], None] | None = None,
          settings: Settings | None = None) -> Services:
    return Services(ctx, ClusterService(ctx), CertificateService(ctx), CsrService(ctx),
                    AuditService(ctx), SecurityService(ctx), AccountService(ctx),
                    DrfService(ctx), ToolsService(ctx.clock), TokenService(ctx), close,
                    settings)


def build_lab_ca(settings: Settings, clock: Clock = utc_now) -> LabCaService:
    """The lab CA of a home, without opening its database (``uccerts ca``)."""
    from uccerts.services.ca import LabCaService

    return LabCaService(settings, clock)


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
    return replace(services, close=engine.dispose, settings=settings)


def build_runbooks(settings: Settings | None, services: Services, control: Blocking | None,
                   *, manual_folder: Path | None = None) -> RunbookService:
    """Runbooks with their CA adapters: the lab CA of the home, a manual folder, ACME.
    ``manual_folder`` overrides the folder a manual runbook was started with (import).
    Without ``settings`` (an app given no home) runbooks plan and list, and refuse to
    reach a CA."""
    from uccerts.enroll.issued import Issued
    from uccerts.enroll.labca import SignOptions
    from uccerts.services.runbook import RunbookService
    from uccerts.services.runbook_ca import AcmeEnrollment, LabEnrollment, ManualEnrollment

    def lab_sign(csr_pem: bytes) -> Issued:
        assert settings is not None
        bundle = build_lab_ca(settings, services.ctx.clock).sign(csr_pem, SignOptions())
        return Issued(bundle.leaf, (bundle.intermediate,), bundle.root)

    def enrollment(kind: CaKind, options: RunbookOptions) -> Enrollment:
        if settings is None:
            raise SystemFailure("This console was started without its home: it cannot "
                                "reach a CA", code="settings-missing",
                                fix="Run the runbook with `uccerts runbook`")
        if kind is CaKind.LAB:
            return LabEnrollment(lab_sign)
        if kind is CaKind.MANUAL:
            return ManualEnrollment(manual_folder or Path(options.folder or "csr-out"))
        return AcmeEnrollment(options.acme)

    return RunbookService(services.ctx, control, enrollment)
