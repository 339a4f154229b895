"""What every route of a node's web console and APIs works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from uccerts.http.security import CredentialCache, SessionStore, Throttle

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
    throttle: Throttle = field(default_factory=Throttle)
    credentials: CredentialCache = field(default_factory=CredentialCache)
    settings: Settings | None = None  # the home (the lab CA of runbooks); None: unknown
