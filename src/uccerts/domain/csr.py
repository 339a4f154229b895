"""Plan and build a CSR for a node and purpose (domain.md §4).

``plan_csr`` turns the dialog's fields into a complete, validated ``CsrPlan`` (common
name, SANs, nodes it applies to); ``build_csr`` signs it with a key. Both are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography import x509

from uccerts.domain import extensions
from uccerts.domain.keys import HASHES, PrivateKey, validate_key_settings
from uccerts.domain.model import Distribution, Node, WebSecurity
from uccerts.domain.names import (
    San,
    build_subject,
    check_dns_name,
    is_wildcard,
    parse_ip,
    unique_sans,
)
from uccerts.domain.purposes import KeyType, Purpose, Role, SanScope
from uccerts.errors import InvalidInput, UsageError


@dataclass(frozen=True)
class CsrOptions:
    """What the Generate CSR dialog (or flags, or JSON) asks for."""

    distribution: Distribution = Distribution.THIS_SERVER
    common_name: str | None = None
    extra_sans: tuple[str, ...] = ()
    parent_domain: str | None = None  # None: the cluster domain
    include_parent_domain: bool = True
    key_length: int | None = None
    hash: str | None = None
    include_ou: bool = True
    # API §13: this-server names exactly commonName plus altNames; multi-server names
    # every covered node's FQDN plus altNames (no parent domain, no common name).
    exact_names: bool = False


@dataclass(frozen=True)
class CsrPlan:
    purpose: Purpose
    distribution: Distribution
    common_name: str
    sans: tuple[str, ...]
    key_type: KeyType
    key_length: int
    hash: str
    nodes: tuple[str, ...]  # host names the CSR applies to
    subject: WebSecurity


def _scope_nodes(scope: SanScope, nodes: Sequence[Node]) -> list[Node]:
    if scope is SanScope.CUCM:
        return [n for n in nodes if n.role.is_cucm]
    if scope is SanScope.IMP:
        return [n for n in nodes if n.role is Role.IMP]
    return list(nodes)


def _check_extra(name: str, *, allow_ip: bool) -> str:
    if parse_ip(name) is not None:
        if not allow_ip:
            raise InvalidInput(
                f"'{name}' is an IP address; a multi-server CSR takes FQDNs only",
                code="ip-not-allowed",
                fix="Give host names (FQDNs) as other domains for a multi-server CSR",
            )
        return str(parse_ip(name))
    if is_wildcard(name):
        raise InvalidInput(f"'{name}': Wildcard certificates are not supported",
                           code="wildcard-not-supported",
                           fix="List each host name explicitly")
    return check_dns_name(name, what="a subject alternate name").lower()


def plan_csr(purpose: Purpose, node: Node, cluster_nodes: Sequence[Node], domain: str,
             options: CsrOptions) -> CsrPlan:
    """Validate the dialog's fields and compute CN, SANs and the nodes covered."""
    if purpose.self_signed_only:
        raise UsageError(f"{purpose.name} has no CSR: it is always self-signed",
                      code="self-signed-only",
                      fix=f"Regenerate the self-signed {purpose.name} certificate instead")
    node.require(purpose)
    length, hash_name = validate_key_settings(purpose.key_type, options.key_length, options.hash)
    multi = options.distribution is Distribution.MULTI_SERVER
    parent = (options.parent_domain if options.parent_domain is not None else domain).strip()
    if parent:
        parent = check_dns_name(parent, what="the parent domain").lower()

    if multi:
        if purpose.san_scope is None:
            raise UsageError(f"{purpose.name} has no multi-server distribution",
                             code="multi-server-not-supported",
                             fix="Generate a this-server CSR for this purpose")
        covered = _scope_nodes(purpose.san_scope, cluster_nodes)
        publisher = next((n for n in cluster_nodes if n.role is Role.PUBLISHER), node)
        ec = "-EC" if purpose.key_type is KeyType.EC else ""
        default_cn = f"{publisher.hostname}{ec}-ms.{domain}" if domain else (
            f"{publisher.hostname}{ec}-ms")
        auto = [n.fqdn.lower() for n in covered]
        extra = [_check_extra(s, allow_ip=False) for s in options.extra_sans]
    else:
        covered = [node]
        default_cn = node.fqdn
        auto = [node.fqdn.lower()]
        # this-server tomcat: the web-security alternate host names become SANs (not
        # when the caller names every SAN itself: §13's "exactly commonName + altNames").
        alt = (node.web_security.alternate_hostnames
               if purpose.family == "tomcat" and not options.exact_names else ())
        extra = [_check_extra(s, allow_ip=True) for s in (*alt, *options.extra_sans)]

    cn = (options.common_name or default_cn).strip()
    if not cn:
        raise UsageError("The common name cannot be empty", code="invalid-common-name",
                         fix="Give a common name, or none for the default")
    if is_wildcard(cn):
        raise InvalidInput("Wildcard certificates are not supported",
                           code="wildcard-not-supported", fix="Use the node's FQDN")
    if len(cn) > 64:
        raise InvalidInput(f"The common name '{cn}' is longer than 64 characters",
                           code="invalid-common-name", fix="Shorten the common name")

    if options.exact_names and multi:
        # §13, multi-server: every covered node's FQDN plus the caller's names (not the
        # common name, which names no node, nor the parent domain).
        sans = unique_sans([*auto, *extra])
    elif options.exact_names:
        sans = unique_sans([_check_extra(cn, allow_ip=True), *extra])
    else:
        sans = unique_sans([*([parent] if parent and options.include_parent_domain else []),
                        *auto, *extra])
    subject = node.web_security if options.include_ou else replace(node.web_security,
                                                                    orgunit="")
    return CsrPlan(purpose, options.distribution, cn, sans, purpose.key_type, length,
                   hash_name, tuple(n.hostname for n in covered), subject)


def build_csr(plan: CsrPlan, key: PrivateKey) -> x509.CertificateSigningRequest:
    ws = plan.subject
    subject = build_subject(plan.common_name, ou=ws.orgunit, o=ws.orgname,
                            locality=ws.locality, st=ws.state, c=ws.country)
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(extensions.key_usage(plan.purpose), critical=True)
        .add_extension(extensions.basic_constraints(plan.purpose), critical=True)
    )
    eku = extensions.extended_key_usage(plan.purpose)
    if eku is not None:
        builder = builder.add_extension(eku, critical=False)
    if plan.sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([San.parse(s).to_general_name() for s in plan.sans]),
            critical=False,
        )
    return builder.sign(key, HASHES[plan.hash])
