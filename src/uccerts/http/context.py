"""What every route of a node's web console and APIs works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from uccerts.http.jobs import JobRunner
from uccerts.http.security import CredentialCache, Logins, SessionStore

if TYPE_CHECKING:
    from uccerts.bootstrap import Services
    from uccerts.config import Settings
    from uccerts.domain.control import ClusterControl


@dataclass
class AppContext:
    """One per node's app: the use cases, the node served from, the running cluster."""

    services: Services
    node: str  # host name of the node whose Cisco Tomcat serves this app
    control: ClusterControl | None = None  # None: no running cluster (503 on its routes)
    sessions: SessionStore = field(default_factory=SessionStore)
    # Login throttling and password checks: one per serve, shared by every node's app.
    logins: Logins = field(default_factory=Logins)
    credentials: CredentialCache = field(default_factory=CredentialCache)
    settings: Settings | None = None  # the home (the lab CA of runbooks); None: unknown
    # Work that outlives its request (service actions, runbooks), for console and APIs.
    jobs: JobRunner = field(default_factory=JobRunner)
