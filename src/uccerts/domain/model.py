"""Frozen values for what a cluster holds (domain.md §1).

These are the shapes services and storage exchange; SQL tables and API schemas have
their own shapes with small mappers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509

from uccerts.domain.keys import PrivateKey
from uccerts.domain.purposes import KeyType, Purpose, Role
from uccerts.errors import UsageError


class Distribution(StrEnum):
    THIS_SERVER = "this-server"
    MULTI_SERVER = "multi-server"


class SanMatch(StrEnum):
    EXACT = "exact"
    SUPERSET = "superset"


@dataclass(frozen=True)
class WebSecurity:
    """Subject fields of a node's certificates (``set web-security``, domain.md §7)."""

    orgunit: str = ""
    orgname: str = ""
    locality: str = ""
    state: str = ""
    country: str = ""
    alternate_hostnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cluster:
    name: str
    domain: str
    security_mode: int = 0  # 0 non-secure, 1 mixed
    sso_enabled: bool = False
    san_match: SanMatch = SanMatch.EXACT
    phone_count: int = 0
    id: int | None = None


@dataclass(frozen=True)
class Node:
    hostname: str
    domain: str
    address: str
    role: Role
    services: tuple[str, ...]
    web_security: WebSecurity = field(default_factory=WebSecurity)
    ports: tuple[tuple[str, int], ...] = ()  # service key -> port overrides
    id: int | None = None

    @property
    def fqdn(self) -> str:
        return f"{self.hostname}.{self.domain}" if self.domain else self.hostname

    def require(self, purpose: Purpose) -> None:
        """Refuse a purpose this node's role does not have (domain.md §2)."""
        if not purpose.applies_to(self.role):
            raise UsageError(
                f"{purpose.name} does not apply to {self.hostname} ({self.role.value})",
                code="purpose-not-on-node",
                fix="CAPF: publisher only; CallManager and TVS: CUCM nodes; "
                    "cup*: IM and Presence nodes",
            )


@dataclass(frozen=True)
class Identity:
    """A node's identity certificate for a purpose ("own"), with its key when loaded."""

    node: str
    purpose: str
    certificate: x509.Certificate
    filename: str
    description: str
    distribution: Distribution = Distribution.THIS_SERVER
    key: PrivateKey | None = None  # None when listed without unsealing


@dataclass(frozen=True)
class PendingCsr:
    """The one pending CSR of a node and purpose, with its sealed-at-rest key."""

    node: str
    purpose: str
    csr: x509.CertificateSigningRequest
    distribution: Distribution
    common_name: str
    sans: tuple[str, ...]
    key_type: KeyType
    key_length: int
    hash: str
    nodes: tuple[str, ...]  # every node the CSR applies to (multi-server: all named)
    created: dt.datetime
    key: PrivateKey | None = None


@dataclass(frozen=True)
class TrustEntry:
    node: str
    store: str
    filename: str
    certificate: x509.Certificate
    description: str
    added: dt.datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    actor: str
    action: str
    outcome: str  # "ok" | "refused" | "failed"
    node: str = ""
    purpose: str = ""
    detail: str = ""
    source: str = "cli"
    cluster: str = ""
