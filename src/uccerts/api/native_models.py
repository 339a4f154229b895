"""Request and response shapes of ``/api/v1`` (pydantic), for validation and OpenAPI.

Field names are the CLI's JSON keys (cli.md); request bodies refuse unknown keys (a
misspelt option is an error, not silently ignored).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PEM_MAX = 1024 * 1024


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ requests


class SecurityModeIn(Body):
    mode: Literal["mixed", "non-secure"] = Field(
        description="mixed: security mode 1 with a CTL; non-secure: 0")


class SsoIn(Body):
    enabled: bool


class UploadIn(Body):
    pem: str = Field(max_length=PEM_MAX,
                     description="PEM text: one or more certificates (leaf, chain, or CAs)")
    description: str | None = Field(default=None, max_length=200)


class RegenerateIn(Body):
    key_length: int | None = Field(default=None, ge=1, le=16384,
                                   description="Keep the current length when omitted")
    hash: str | None = Field(default=None, max_length=16, description="SHA256 by default")


class CsrIn(Body):
    """The Generate CSR dialog (domain.md §4)."""

    purpose: str = Field(max_length=64, description="Identity purpose, e.g. tomcat")
    distribution: Literal["this-server", "multi-server"] = "this-server"
    common_name: str | None = Field(default=None, max_length=255,
                                    description="Defaults by distribution (domain.md §4)")
    other_domains: list[str] = Field(default_factory=list, max_length=100,
                                     description="Extra SANs (multi-server: FQDNs only)")
    parent_domain: str | None = Field(default=None, max_length=255,
                                      description="Defaults to the cluster domain")
    include_parent_domain: bool = Field(default=True,
                                        description="false: the parent domain is not a SAN")
    key_length: int | None = Field(default=None, ge=1, le=16384)
    hash: str | None = Field(default=None, max_length=16)
    include_ou: bool = True


class WebSecurityIn(Body):
    orgunit: str = Field(max_length=64)
    orgname: str = Field(max_length=64)
    locality: str = Field(max_length=64)
    state: str = Field(max_length=64)
    country: str = Field(default="", max_length=2)
    alternate_hostnames: list[str] = Field(default_factory=list, max_length=100)


class AccountIn(Body):
    user: str = Field(max_length=64)
    role: Literal["read-only", "read-write"]
    password: str = Field(max_length=1024)


class PasswordIn(Body):
    password: str = Field(max_length=1024)


class PhonesResetIn(Body):
    node: str | None = Field(default=None, max_length=255,
                             description="Only the phones of this node")
    wait: bool = Field(default=False, description="Answer once every phone settled")
    timeout: float = Field(default=120.0, ge=1, le=600)


class DeleteItlIn(Body):
    macs: list[str] = Field(default_factory=list, max_length=10000)
    all: bool = False
    wait: bool = False
    timeout: float = Field(default=120.0, ge=1, le=600)


class DecodeIn(Body):
    pem: str = Field(max_length=PEM_MAX, description="A CSR or certificates, PEM")


class MatchIn(Body):
    certificate: str = Field(max_length=PEM_MAX)
    key: str | None = Field(default=None, max_length=PEM_MAX,
                            description="Private key PEM; compared, never stored")
    csr: str | None = Field(default=None, max_length=PEM_MAX)


class CheckIn(Body):
    purpose: str = Field(max_length=64)
    csr: str = Field(max_length=PEM_MAX)
    certificate: str = Field(max_length=PEM_MAX)
    ca: list[str] = Field(default_factory=list, max_length=20,
                          description="CA certificates playing the trust store")
    san_match: Literal["exact", "superset"] = "exact"
    strict: bool = False


class TokenIn(Body):
    ttl_hours: int = Field(default=24, ge=1, le=24 * 365)
    description: str = Field(default="", max_length=200)


# ------------------------------------------------------------------ responses


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Certificate(Out):
    node: str
    purpose: str
    type: Literal["own", "trust"]
    filename: str
    common_name: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    key_type: str
    key_size: int
    distribution: str
    self_signed: bool
    sans: list[str]
    sha256: str
    description: str
    pem: str | None = None


class Installed(Out):
    node: str
    purpose: str
    filename: str
    sha256: str


class Restart(Out):
    node: str
    service: str


class FindingOut(Out):
    code: str
    message: str
    fix: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)


class UploadOut(Out):
    ok: bool
    node: str
    purpose: str
    installed: list[Installed]
    services_to_restart: list[Restart]
    warnings: list[FindingOut]
    dry_run: bool = False


class RegenerateOut(Out):
    ok: bool
    certificate: Certificate
    services_to_restart: list[Restart]
    message: str
    warning: str


class RemovedOut(Out):
    ok: bool
    removed: list[Installed]


class CsrFields(Out):
    node: str
    purpose: str
    distribution: str
    common_name: str
    sans: list[str]
    key_type: str
    key_length: int
    hash: str
    nodes: list[str]


class CsrOut(CsrFields):
    created: str
    csr: str | None = Field(default=None, description="PEM (when one CSR is shown)")


class CsrGeneratedOut(CsrFields):
    replaced: bool
    csr: str
    message: str
    warning: str | None = Field(default=None, description="Set when a CSR was replaced")


class WebSecurityOut(Out):
    orgunit: str
    orgname: str
    locality: str
    state: str
    country: str
    alternate_hostnames: list[str]


class NodeOut(Out):
    name: str
    fqdn: str
    address: str
    role: str
    services: list[str]
    ports: dict[str, int]
    web_security: WebSecurityOut


class ClusterOut(Out):
    name: str
    domain: str
    security_mode: int
    sso_enabled: bool
    ctl_sha256: str | None
    san_match: str
    phones: int
    nodes: list[NodeOut]


class SecurityOut(Out):
    cluster: str
    mode: str
    security_mode: int
    changed: bool
    ctl_sha256: str | None
    records: list[dict[str, str]]
    next_steps: dict[str, Any]
    note: str


class SsoOut(Out):
    cluster: str
    sso_enabled: bool
    changed: bool


class WebSecuritySetOut(Out):
    ok: bool
    node: NodeOut
    regenerated: bool
    services_to_restart: list[Restart]
    note: str


class AuditOut(Out):
    at: str
    actor: str
    source: str
    cluster: str
    node: str
    purpose: str
    action: str
    outcome: str
    detail: str


class AccountOut(Out):
    user: str
    role: str


class TokenOut(Out):
    token: str
    token_type: Literal["Bearer"]
    user: str
    role: str
    expires: str


class ServiceRow(Out):
    service: str
    state: str
    port: int | None = None


class ServiceActionOut(Out):
    service: str
    state: str
    events: list[str] = Field(default_factory=list)
    accepted: bool = False


class PhonesStatusOut(Out):
    total: int
    by_state: dict[str, int]
    by_node: dict[str, dict[str, int]]
    phones: list[dict[str, Any]]


class CheckOut(Out):
    ok: bool
    errors: list[FindingOut]
    warnings: list[FindingOut]


class MatchOut(Out):
    match: bool
    verdict: str
    certificate_hash: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the uccerts error code and fix."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    fix: str = ""
    instance: str | None = None
    findings: list[dict[str, Any]] | None = None
    errors: list[dict[str, str]] | None = None
