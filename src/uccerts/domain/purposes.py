"""The catalogue of certificate purposes, trust stores and services, as data.

domain.md §2 (purposes), §3 (key usage), §8 (services and restarts). Fixing a
purpose's trust store or restart list is a one-line change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from uccerts.errors import NotFound


class Role(StrEnum):
    PUBLISHER = "publisher"
    SUBSCRIBER = "subscriber"
    IMP = "imp"

    @property
    def is_cucm(self) -> bool:
        return self is not Role.IMP


class KeyType(StrEnum):
    RSA = "RSA"
    EC = "EC"


ALL_ROLES = frozenset(Role)
CUCM_ROLES = frozenset({Role.PUBLISHER, Role.SUBSCRIBER})
PUBLISHER_ONLY = frozenset({Role.PUBLISHER})
IMP_ONLY = frozenset({Role.IMP})


class SanScope(StrEnum):
    """Which nodes a multi-server CSR names by default (domain.md §4)."""

    CUCM_AND_IMP = "cucm+imp"
    CUCM = "cucm"
    IMP = "imp"


@dataclass(frozen=True)
class UsageProfile:
    """Key usage / extended key usage a purpose requests and requires (domain.md §3)."""

    server_auth: bool = True
    client_auth: bool = True
    ipsec_end_system: bool = False
    key_encipherment: bool = True  # RSA only; EC purposes use key agreement instead
    data_encipherment: bool = True  # RSA only
    key_cert_sign: bool = False
    ca_pathlen0: bool = False  # CAPF: BasicConstraints CA:TRUE, pathlen:0


WEB = UsageProfile()
IPSEC = UsageProfile(ipsec_end_system=True)
CAPF_USAGE = UsageProfile(key_encipherment=False, data_encipherment=False,
                          key_cert_sign=True, ca_pathlen0=True)
NO_USAGE = UsageProfile(server_auth=False, client_auth=False, key_encipherment=False,
                        data_encipherment=False)


@dataclass(frozen=True)
class Purpose:
    """An identity purpose ("unit"): tomcat, CallManager, ipsec, …"""

    name: str
    key_type: KeyType
    roles: frozenset[Role]
    trust_store: str | None
    usage: UsageProfile
    san_scope: SanScope | None = None  # None: no multi-server distribution
    self_signed_only: bool = False
    wildcard_allowed: bool = False
    # The purpose whose restart list applies (tomcat-ECDSA restarts like tomcat).
    restart_family: str = ""

    @property
    def family(self) -> str:
        return self.restart_family or self.name

    def applies_to(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class TrustStore:
    name: str
    replicated: bool  # tomcat-, CallManager-, Phone-SAST-trust replicate cluster-wide
    roles: frozenset[Role] = ALL_ROLES
    also_copy_roots_to: str | None = None  # CAPF-trust roots also go to CallManager-trust


def _p(name: str, key: KeyType, roles: frozenset[Role], store: str | None,
       usage: UsageProfile, scope: SanScope | None = None, **kw: object) -> Purpose:
    return Purpose(name, key, roles, store, usage, scope, **kw)  # type: ignore[arg-type]


RSA, EC = KeyType.RSA, KeyType.EC
S = SanScope

PURPOSES: tuple[Purpose, ...] = (
    _p("tomcat", RSA, ALL_ROLES, "tomcat-trust", WEB, S.CUCM_AND_IMP),
    _p("tomcat-ECDSA", EC, ALL_ROLES, "tomcat-trust", WEB, S.CUCM_AND_IMP,
       restart_family="tomcat"),
    _p("CallManager", RSA, CUCM_ROLES, "CallManager-trust", WEB, S.CUCM),
    _p("CallManager-ECDSA", EC, CUCM_ROLES, "CallManager-trust", WEB, S.CUCM,
       restart_family="CallManager"),
    _p("ipsec", RSA, ALL_ROLES, "ipsec-trust", IPSEC),
    _p("CAPF", RSA, PUBLISHER_ONLY, "CAPF-trust", CAPF_USAGE),
    _p("TVS", RSA, CUCM_ROLES, "TVS-trust", WEB),
    _p("ITLRecovery", RSA, PUBLISHER_ONLY, None, NO_USAGE, self_signed_only=True),
    _p("cup", RSA, IMP_ONLY, "cup-trust", IPSEC),
    _p("cup-ECDSA", EC, IMP_ONLY, "cup-trust", IPSEC, restart_family="cup"),
    _p("cup-xmpp", RSA, IMP_ONLY, "cup-xmpp-trust", IPSEC, S.IMP),
    _p("cup-xmpp-ECDSA", EC, IMP_ONLY, "cup-xmpp-trust", IPSEC, S.IMP,
       restart_family="cup-xmpp"),
    _p("cup-xmpp-s2s", RSA, IMP_ONLY, "cup-xmpp-trust", IPSEC, S.IMP,
       wildcard_allowed=True, restart_family="cup-xmpp"),
    _p("cup-xmpp-s2s-ECDSA", EC, IMP_ONLY, "cup-xmpp-trust", IPSEC, S.IMP,
       wildcard_allowed=True, restart_family="cup-xmpp"),
)

TRUST_STORES: tuple[TrustStore, ...] = (
    TrustStore("tomcat-trust", replicated=True),
    TrustStore("CallManager-trust", replicated=True, roles=CUCM_ROLES),
    TrustStore("ipsec-trust", replicated=False),
    TrustStore("CAPF-trust", replicated=False, roles=CUCM_ROLES,
               also_copy_roots_to="CallManager-trust"),
    TrustStore("TVS-trust", replicated=False, roles=CUCM_ROLES),
    TrustStore("cup-trust", replicated=False, roles=IMP_ONLY),
    TrustStore("cup-xmpp-trust", replicated=False, roles=IMP_ONLY),
    TrustStore("Phone-SAST-trust", replicated=True, roles=CUCM_ROLES),
    TrustStore("Phone-trust", replicated=False, roles=CUCM_ROLES),
    TrustStore("Phone-VPN-trust", replicated=False, roles=CUCM_ROLES),
    TrustStore("Phone-CTL-trust", replicated=False, roles=CUCM_ROLES),
    TrustStore("directory-trust", replicated=False),
)

_PURPOSE_BY_KEY = {p.name.lower(): p for p in PURPOSES}
_STORE_BY_KEY = {s.name.lower(): s for s in TRUST_STORES}


def purpose(name: str) -> Purpose:
    """Look a purpose up case-insensitively (display keeps the catalogue's case)."""
    try:
        return _PURPOSE_BY_KEY[name.strip().lower()]
    except KeyError:
        raise NotFound(
            f"Unknown certificate purpose '{name}'",
            code="unknown-purpose",
            fix="Use one of: " + ", ".join(p.name for p in PURPOSES),
        ) from None


def trust_store(name: str) -> TrustStore:
    try:
        return _STORE_BY_KEY[name.strip().lower()]
    except KeyError:
        raise NotFound(
            f"Unknown trust store '{name}'",
            code="unknown-trust-store",
            fix="Use one of: " + ", ".join(s.name for s in TRUST_STORES),
        ) from None


def is_trust_store(name: str) -> bool:
    return name.strip().lower() in _STORE_BY_KEY


def purposes_for(role: Role) -> tuple[Purpose, ...]:
    return tuple(p for p in PURPOSES if p.applies_to(role))


# --- services (domain.md §8) -------------------------------------------------------


class ServiceKind(StrEnum):
    """What a service is: the key of every behaviour table (what it serves, what it
    loads at start). The values are the short names a topology's port overrides use."""

    TOMCAT = "tomcat"
    CALLMANAGER = "callmanager"
    CTIMANAGER = "ctimanager"
    TFTP = "tftp"
    TVS = "tvs"
    CAPF = "capf"
    DRF_MASTER = "drfmaster"
    DRF_LOCAL = "drflocal"
    XCP_ROUTER = "xcp"


@dataclass(frozen=True)
class Service:
    name: str
    kind: ServiceKind
    ports: tuple[int, ...]
    certificate: str | None  # identity purpose the listener serves (or signs with)
    roles: frozenset[Role]
    # Start order when a cluster comes up: what phones need first (TVS, TFTP) before
    # what they connect to.
    boot_rank: int
    # False: plain HTTP (TFTP's files), so no client can check a served certificate.
    tls: bool = True

    @property
    def key(self) -> str:
        """The short name used in topology port overrides."""
        return self.kind.value


K = ServiceKind

SERVICES: tuple[Service, ...] = (
    Service("Cisco Tomcat", K.TOMCAT, (443, 8443), "tomcat", ALL_ROLES, boot_rank=5),
    Service("Cisco CallManager", K.CALLMANAGER, (5061,), "CallManager", CUCM_ROLES,
            boot_rank=2),
    Service("Cisco CTIManager", K.CTIMANAGER, (2749,), "CallManager", CUCM_ROLES,
            boot_rank=3),
    Service("Cisco TFTP", K.TFTP, (6970,), "CallManager", CUCM_ROLES, boot_rank=1,
            tls=False),
    Service("Cisco Trust Verification Service", K.TVS, (2445,), "TVS", CUCM_ROLES,
            boot_rank=0),
    Service("Cisco Certificate Authority Proxy Function", K.CAPF, (3804,), "CAPF",
            PUBLISHER_ONLY, boot_rank=4),
    Service("Cisco DRF Master", K.DRF_MASTER, (4040,), "ipsec", PUBLISHER_ONLY, boot_rank=6),
    Service("Cisco DRF Local", K.DRF_LOCAL, (4040,), "ipsec", ALL_ROLES, boot_rank=7),
    Service("Cisco XCP Router", K.XCP_ROUTER, (5222,), "cup-xmpp", IMP_ONLY, boot_rank=8),
)

_SERVICE_BY_KEY = {s.name.lower(): s for s in SERVICES} | {s.key: s for s in SERVICES}
_SERVICE_BY_KIND = {s.kind: s for s in SERVICES}


def service(name: str) -> Service:
    """Look a service up by its full name (case and spacing free) or its short key."""
    try:
        return _SERVICE_BY_KEY[" ".join(name.split()).lower()]
    except KeyError:
        raise NotFound(
            f"Unknown service '{name}'",
            code="unknown-service",
            fix="Use one of: " + ", ".join(s.name for s in SERVICES),
        ) from None


def service_of(kind: ServiceKind) -> Service:
    """The catalogue's service of a kind: code names services by kind, never by text."""
    return _SERVICE_BY_KIND[kind]


def name_of(kind: ServiceKind) -> str:
    """The full service name of a kind, as nodes list their activated services."""
    return _SERVICE_BY_KIND[kind].name


def default_services(role: Role) -> tuple[str, ...]:
    return tuple(s.name for s in SERVICES if role in s.roles)


@dataclass(frozen=True)
class RestartRule:
    """What follows a change of a purpose family's certificate (domain.md §8)."""

    services: tuple[ServiceKind, ...]  # in this order, on each changed node running them
    ctl_update_first: bool = False  # mixed mode: the CTL is updated before the restarts
    reset_phones: bool = False  # then every phone is reset and must re-register


NO_RESTART = RestartRule(())

# Restart rules by purpose family (tomcat-ECDSA restarts like tomcat).
RESTART_RULES: dict[str, RestartRule] = {
    "tomcat": RestartRule((K.TOMCAT,)),
    "CallManager": RestartRule((K.TVS, K.TFTP, K.CALLMANAGER, K.CTIMANAGER),
                               ctl_update_first=True, reset_phones=True),
    "ipsec": RestartRule((K.DRF_MASTER, K.DRF_LOCAL)),
    "CAPF": RestartRule((K.TVS, K.TFTP, K.CAPF), ctl_update_first=True, reset_phones=True),
    "TVS": RestartRule((K.TFTP, K.TVS), reset_phones=True),
    "cup-xmpp": RestartRule((K.XCP_ROUTER,)),
}


def restart_rule(purpose: Purpose) -> RestartRule:
    return RESTART_RULES.get(purpose.family, NO_RESTART)
