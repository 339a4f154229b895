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


@dataclass(frozen=True)
class Service:
    name: str
    ports: tuple[int, ...]
    certificate: str | None  # identity purpose the listener serves (or signs with)
    roles: frozenset[Role]
    key: str  # short name used in topology port overrides


SERVICES: tuple[Service, ...] = (
    Service("Cisco Tomcat", (443, 8443), "tomcat", ALL_ROLES, "tomcat"),
    Service("Cisco CallManager", (5061,), "CallManager", CUCM_ROLES, "callmanager"),
    Service("Cisco CTIManager", (2749,), "CallManager", CUCM_ROLES, "ctimanager"),
    Service("Cisco TFTP", (6970,), "CallManager", CUCM_ROLES, "tftp"),
    Service("Cisco Trust Verification Service", (2445,), "TVS", CUCM_ROLES, "tvs"),
    Service("Cisco Certificate Authority Proxy Function", (3804,), "CAPF",
            PUBLISHER_ONLY, "capf"),
    Service("Cisco DRF Master", (4040,), "ipsec", PUBLISHER_ONLY, "drfmaster"),
    Service("Cisco DRF Local", (4040,), "ipsec", ALL_ROLES, "drflocal"),
    Service("Cisco XCP Router", (5222,), "cup-xmpp", IMP_ONLY, "xcp"),
)

_SERVICE_BY_KEY = {s.name.lower(): s for s in SERVICES} | {s.key: s for s in SERVICES}


def service(name: str) -> Service:
    try:
        return _SERVICE_BY_KEY[" ".join(name.split()).lower()]
    except KeyError:
        raise NotFound(
            f"Unknown service '{name}'",
            code="unknown-service",
            fix="Use one of: " + ", ".join(s.name for s in SERVICES),
        ) from None


def default_services(role: Role) -> tuple[str, ...]:
    return tuple(s.name for s in SERVICES if role in s.roles)


# Restart order after a purpose's certificate changes (domain.md §8), by family.
RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat": ("Cisco Tomcat",),
    "CallManager": ("Cisco Trust Verification Service", "Cisco TFTP", "Cisco CallManager",
                    "Cisco CTIManager"),
    "ipsec": ("Cisco DRF Master", "Cisco DRF Local"),
    "CAPF": ("Cisco Trust Verification Service", "Cisco TFTP",
             "Cisco Certificate Authority Proxy Function"),
    "TVS": ("Cisco TFTP", "Cisco Trust Verification Service"),
    "cup-xmpp": ("Cisco XCP Router",),
}
# Purposes after whose restarts every phone must be reset and re-register.
PHONE_RESET_FAMILIES = frozenset({"CallManager", "CAPF", "TVS"})
# In mixed mode the CTL must be updated before these families' restarts.
CTL_FAMILIES = frozenset({"CallManager", "CAPF"})
