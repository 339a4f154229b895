"""Read shapes that every face renders: certificates, CSRs, nodes (cli.md JSON keys)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from uccerts.domain.codec import certificate_pem
from uccerts.domain.inspect import iso_utc, key_description
from uccerts.domain.model import Cluster, Identity, Node, PendingCsr, TrustEntry
from uccerts.domain.names import common_name, sans_of

iso = iso_utc  # every face writes times one way (cli.md Global)


def sha256_of(cert: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint (of its DER), lower-case hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


@dataclass(frozen=True)
class CertView:
    node: str
    purpose: str
    type: str  # "own" | "trust"
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
    pem: str

    def to_dict(self, *, with_pem: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not with_pem:
            del out["pem"]
        return out


def _cert_view(node: str, purpose: str, kind: str, filename: str, cert: x509.Certificate,
               distribution: str, description: str) -> CertView:
    key_type, key_size = key_description(cert.public_key())
    return CertView(
        node=node, purpose=purpose, type=kind, filename=filename,
        common_name=common_name(cert.subject), issuer=common_name(cert.issuer),
        serial=format(cert.serial_number, "x"),
        not_before=iso(cert.not_valid_before_utc), not_after=iso(cert.not_valid_after_utc),
        key_type=key_type, key_size=key_size,
        distribution=distribution, self_signed=is_self_signed(cert), sans=sans_of(cert),
        sha256=sha256_of(cert), description=description,
        pem=certificate_pem(cert),
    )


def identity_view(identity: Identity) -> CertView:
    return _cert_view(identity.node, identity.purpose, "own", identity.filename,
                      identity.certificate, identity.distribution.value, identity.description)


def trust_view(entry: TrustEntry) -> CertView:
    return _cert_view(entry.node, entry.store, "trust", entry.filename, entry.certificate,
                      "this-server", entry.description)


def csr_view(csr: PendingCsr) -> dict[str, Any]:
    return {
        "node": csr.node, "purpose": csr.purpose, "distribution": csr.distribution.value,
        "common_name": csr.common_name, "sans": list(csr.sans),
        "key_type": csr.key_type.value, "key_length": csr.key_length, "hash": csr.hash,
        "nodes": list(csr.nodes), "created": iso(csr.created),
    }


def node_view(node: Node) -> dict[str, Any]:
    ws = node.web_security
    return {
        "name": node.hostname, "fqdn": node.fqdn, "address": node.address,
        "role": node.role.value, "services": list(node.services),
        "ports": dict(node.ports),
        "web_security": {"orgunit": ws.orgunit, "orgname": ws.orgname,
                         "locality": ws.locality, "state": ws.state, "country": ws.country,
                         "alternate_hostnames": list(ws.alternate_hostnames)},
    }


def cluster_view(cluster: Cluster, nodes: list[Node]) -> dict[str, Any]:
    return {
        "name": cluster.name, "domain": cluster.domain,
        "security_mode": cluster.security_mode, "sso_enabled": cluster.sso_enabled,
        "ctl_sha256": cluster.ctl_sha256,
        "san_match": cluster.san_match.value, "phones": cluster.phone_count,
        "nodes": [node_view(n) for n in nodes],
    }
