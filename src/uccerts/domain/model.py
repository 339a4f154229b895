"""Frozen values for what a cluster holds (domain.md §1).

These are the shapes services and storage exchange; SQL tables and API schemas have
their own shapes with small mappers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from cryptography import x509

from uccerts.domain.keys import PrivateKey
from uccerts.domain.names import check_dns_name, check_text, parse_ip
from uccerts.domain.purposes import KeyType, Purpose, Role, ServiceKind, name_of
from uccerts.domain.states import RunbookState, ServiceState, StepState
from uccerts.errors import InvalidInput, UsageError

if TYPE_CHECKING:  # runbook_options builds on this module's values
    from uccerts.domain.runbook_options import RunbookOptions


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

    def validated(self, *, required: bool = True) -> WebSecurity:
        """Checked and normalised: printable UTF-8 text of 1 to 64 characters (empty
        allowed unless ``required``), a two-letter country, alternate names that are
        FQDNs or IPs (commas split)."""
        for label, value in (("orgunit", self.orgunit), ("orgname", self.orgname),
                             ("locality", self.locality), ("state", self.state)):
            check_text(value, label)
            if not value.strip() and not required:
                continue
            if not value.strip() or len(value) > 64:
                raise InvalidInput(f"{label} '{value}' must be 1 to 64 printable characters",
                                   code="invalid-subject", fix=f"Give a plain text {label}")
        country = self.country.strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise InvalidInput(f"country '{self.country}' is not a two-letter code",
                               code="invalid-subject", fix="Use a code such as US, MX or KR")
        alternates = []
        for name in self.alternate_hostnames:
            for part in (p.strip() for p in name.split(",")):
                if part:
                    ip = parse_ip(part)
                    alternates.append(str(ip) if ip else
                                      check_dns_name(part, what="an alternate host name").lower())
        return WebSecurity(self.orgunit.strip(), self.orgname.strip(), self.locality.strip(),
                           self.state.strip(), country, tuple(alternates))


@dataclass(frozen=True)
class Cluster:
    name: str
    domain: str
    security_mode: int = 0  # 0 non-secure, 1 mixed
    sso_enabled: bool = False
    san_match: SanMatch = SanMatch.EXACT
    phone_count: int = 0
    id: int | None = None
    ctl_sha256: str | None = None  # the cluster's current CTL file (``ctl update``)


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

    def runs(self, kind: ServiceKind) -> bool:
        """Whether the service of this kind is activated on the node."""
        return name_of(kind) in self.services

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


@dataclass(frozen=True)
class ServiceLoad:
    """What a service loaded when it last started, kept so a restarted `serve` brings it
    back unchanged."""

    node: str  # host name
    service: str  # full service name as in purposes.SERVICES, e.g. Cisco Tomcat
    state: ServiceState  # STARTED or STOPPED
    certificate: x509.Certificate | None = None
    key: PrivateKey | None = None
    snapshot: bytes = b""  # service-specific prepared data (e.g. TFTP's signed files)
    loaded_at: dt.datetime | None = None


@dataclass(frozen=True)
class PhoneRecord:
    """A simulated phone and the trust files it last accepted."""

    mac: str  # 12 upper-case hex digits
    tftp_node: str  # host name
    cm_node: str  # host name of its CallManager node
    itl_sha256: str | None = None  # the ITL file it last accepted (in the trust-file store)
    ctl_sha256: str | None = None


@dataclass(frozen=True)
class RunbookStep:
    """One numbered step of a stored runbook and how far it got."""

    n: int
    node: str
    action: str  # e.g. "generate-csr", "restart"
    detail: str
    service: str = ""
    state: StepState = StepState.PENDING
    output: str = ""  # what the step produced (a PEM chain, a message); may be large
    started: dt.datetime | None = None
    finished: dt.datetime | None = None


@dataclass(frozen=True)
class Runbook:
    """A planned regeneration (domain.md §10) as stored: its options, steps and state."""

    id: int | None
    cluster: str
    purpose: str
    options: RunbookOptions  # storage keeps them as JSON (runbook_options' mappers)
    state: RunbookState
    created: dt.datetime
    updated: dt.datetime
    steps: tuple[RunbookStep, ...] = ()
    message: str = ""  # last failure or waiting reason


@dataclass(frozen=True)
class ApiToken:
    """A stored API token: only the SHA-256 of the secret, the account it acts as, and
    its life. The account's role is not kept: it is read at each use."""

    sha256: str  # lower-case hex of the token text
    owner: str  # the account's username
    name: str  # what the caller said it is for (may be empty)
    created: dt.datetime
    expires: dt.datetime
    revoked: bool = False
