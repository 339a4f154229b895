"""SQLAlchemy Core tables, the SQL shape of a fleet of clusters, and their mappers.

Rows are not the domain values: the small functions at the end of this module turn
``domain.model`` values into column values and rows back into values; ``storage.sql``
only runs statements. Conventions, each for a reason:

- Case-insensitive look-ups (node host names, trust file names) go through a
  ``*_key`` column holding the lower-cased text, so one plain unique index serves
  both SQLite and PostgreSQL (no functional indexes, no collations).
- Lists and maps (services, port overrides, SANs) are JSON text: they are always
  read whole and never queried into.
- Times are stored in UTC; ``UtcDateTime`` gives aware datetimes back on SQLite too.
- Constraint names come from one naming convention so both backends (and the
  Alembic migration) carry the same names, and ``IntegrityError``s are comparable.

The migrations in ``migrations/versions``, run in order, must produce exactly these
tables; a test compares them with Alembic's autogenerate diff on both backends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from uccerts.domain.keys import PrivateKey
from uccerts.domain.model import (
    ApiToken,
    AuditEntry,
    Cluster,
    Distribution,
    Identity,
    Node,
    PendingCsr,
    PhoneRecord,
    Runbook,
    RunbookStep,
    SanMatch,
    ServiceLoad,
    TrustEntry,
    WebSecurity,
)
from uccerts.domain.names import common_name
from uccerts.domain.purposes import KeyType, Role
from uccerts.domain.runbook_options import options_from_json, options_to_json
from uccerts.domain.states import RunbookState, ServiceState, StepState
from uccerts.domain.truststore import store_key
from uccerts.errors import UccertsError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps no zone, so a naive value read back is UTC by construction. A naive
    value written is taken as UTC rather than refused: the domain always means UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect
                           ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect
                             ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# Lengths are generous bounds, not rules: the domain validates names.
NAME = 255
SHORT = 64

clusters = Table(
    "clusters", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(NAME), nullable=False, unique=True),
    Column("domain", String(NAME), nullable=False),
    Column("security_mode", Integer, nullable=False),
    Column("sso_enabled", Boolean, nullable=False),
    Column("san_match", String(SHORT), nullable=False),
    Column("phone_count", Integer, nullable=False),
    Column("ctl_sha256", String(SHORT), nullable=True),  # added by revision 0002
)

nodes = Table(
    "nodes", metadata,
    Column("id", Integer, primary_key=True),
    Column("cluster_id", Integer, ForeignKey("clusters.id", ondelete="CASCADE"),
           nullable=False),
    Column("hostname", String(NAME), nullable=False),
    Column("hostname_key", String(NAME), nullable=False),
    Column("domain", String(NAME), nullable=False),
    Column("address", String(NAME), nullable=False),
    Column("role", String(SHORT), nullable=False),
    Column("services", Text, nullable=False),  # JSON list of service keys
    Column("ports", Text, nullable=False),  # JSON list of [service key, port]
    Column("ws_orgunit", String(NAME), nullable=False),
    Column("ws_orgname", String(NAME), nullable=False),
    Column("ws_locality", String(NAME), nullable=False),
    Column("ws_state", String(NAME), nullable=False),
    Column("ws_country", String(SHORT), nullable=False),
    Column("ws_alternate_hostnames", Text, nullable=False),  # JSON list
    UniqueConstraint("cluster_id", "hostname_key"),
)

identities = Table(
    "identities", metadata,
    Column("id", Integer, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(SHORT), nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("common_name", String(NAME), nullable=False, index=True),
    Column("issuer", Text, nullable=False),
    Column("serial_hex", String(SHORT * 2), nullable=False, index=True),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime, nullable=False, index=True),
    Column("sha256", String(SHORT), nullable=False, index=True),
    Column("distribution", String(SHORT), nullable=False),
    Column("filename", String(NAME), nullable=False),
    Column("description", Text, nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    UniqueConstraint("node_id", "purpose"),
)

csrs = Table(
    "csrs", metadata,
    Column("id", Integer, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(SHORT), nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("distribution", String(SHORT), nullable=False),
    Column("common_name", String(NAME), nullable=False),
    Column("sans", Text, nullable=False),  # JSON list
    Column("key_type", String(SHORT), nullable=False),
    Column("key_length", Integer, nullable=False),
    Column("hash", String(SHORT), nullable=False),
    Column("node_list", Text, nullable=False),  # JSON list of host names
    Column("created", UtcDateTime, nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    # The rule of domain.md §1: at most one pending CSR per node and purpose.
    UniqueConstraint("node_id", "purpose"),
)

trust = Table(
    "trust", metadata,
    Column("id", Integer, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    Column("store", String(SHORT), nullable=False),
    Column("filename", String(NAME), nullable=False),
    Column("filename_key", String(NAME), nullable=False),
    Column("der", LargeBinary, nullable=False),
    # The §6 key: the CN, or the whole subject of a CN-less CA (truststore.store_key).
    Column("subject_cn", Text, nullable=False),
    # SHA-256 of the canonical subject (see sql.subject_key): issuer look-ups during
    # chain checks hit this index instead of parsing every certificate of a store.
    Column("subject_hash", String(SHORT), nullable=False),
    Column("serial_hex", String(SHORT * 2), nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("description", Text, nullable=False),
    Column("added", UtcDateTime, nullable=False),
    UniqueConstraint("node_id", "store", "filename_key"),
    Index("ix_trust_subject", "node_id", "store", "subject_hash"),
    Index("ix_trust_cn", "node_id", "store", "subject_cn"),
)

# What each service of the running cluster (``serve``) loaded when it last started.
service_loads = Table(
    "service_loads", metadata,
    Column("id", Integer, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    Column("service", String(NAME), nullable=False),
    Column("state", String(SHORT), nullable=False),
    Column("der", LargeBinary, nullable=True),  # none for a service that never loaded
    Column("sealed_key", LargeBinary, nullable=True),
    Column("snapshot", LargeBinary, nullable=False),  # opaque to storage
    Column("loaded_at", UtcDateTime, nullable=True),
    UniqueConstraint("node_id", "service"),
)

# The simulated phones; the unique (cluster_id, mac) index also serves set_trust's
# per-phone updates and the cluster's cascade.
phones = Table(
    "phones", metadata,
    Column("id", Integer, primary_key=True),
    Column("cluster_id", Integer, ForeignKey("clusters.id", ondelete="CASCADE"),
           nullable=False),
    Column("mac", String(SHORT), nullable=False),
    Column("tftp_node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"),
           nullable=False),
    Column("cm_node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"),
           nullable=False),
    Column("itl_sha256", String(SHORT), nullable=True),
    Column("ctl_sha256", String(SHORT), nullable=True),
    UniqueConstraint("cluster_id", "mac"),
)

# Signed ITL/CTL files by the SHA-256 of their content: shared by every cluster and
# phone naming them, so they are not deleted with either.
trust_files = Table(
    "trust_files", metadata,
    Column("sha256", String(SHORT), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

# Audit rows name clusters and nodes as text, not by key: the record of an attempt
# on an unknown or since-removed cluster must survive.
audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(NAME), nullable=False),
    Column("source", String(SHORT), nullable=False),
    Column("cluster", String(NAME), nullable=False, index=True),
    Column("node", String(NAME), nullable=False),
    Column("purpose", String(SHORT), nullable=False),
    Column("action", String(NAME), nullable=False),
    Column("outcome", String(SHORT), nullable=False),
    Column("detail", Text, nullable=False),
)

settings = Table(
    "settings", metadata,
    Column("key", String(NAME), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(NAME), nullable=False, unique=True),
    Column("role", String(SHORT), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

# API tokens (``services.tokens``): the SHA-256 of the token text, never the text.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(SHORT), nullable=False, unique=True),
    Column("owner", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False),
)


# Regeneration runbooks (domain.md §10) and their numbered steps. Options are JSON
# text, read whole; a step's output (a PEM chain, a message) is unbounded text.
runbooks = Table(
    "runbooks", metadata,
    Column("id", Integer, primary_key=True),
    Column("cluster_id", Integer, ForeignKey("clusters.id", ondelete="CASCADE"),
           nullable=False),
    Column("purpose", String(SHORT), nullable=False),
    Column("options", Text, nullable=False),  # JSON object
    Column("state", String(SHORT), nullable=False),
    Column("message", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
    Index("ix_runbooks_cluster_id_state", "cluster_id", "state"),
)

runbook_steps = Table(
    "runbook_steps", metadata,
    Column("id", Integer, primary_key=True),
    Column("runbook_id", Integer, ForeignKey("runbooks.id", ondelete="CASCADE"),
           nullable=False),
    Column("n", Integer, nullable=False),
    Column("node", String(NAME), nullable=False),
    Column("action", String(NAME), nullable=False),
    Column("detail", Text, nullable=False),
    Column("service", String(NAME), nullable=False),
    Column("state", String(SHORT), nullable=False),
    Column("output", Text, nullable=False),
    Column("started", UtcDateTime, nullable=True),
    Column("finished", UtcDateTime, nullable=True),
    UniqueConstraint("runbook_id", "n"),
)


# ------------------------------------------------ rows <-> domain values


def subject_key(name: x509.Name) -> str:
    """SHA-256 of a canonical form of ``name``, the index key of issuer look-ups.

    Canonical as RFC 5280 §7.1 compares names: attribute order inside an RDN, case
    and runs of white space do not matter, nor does the string type (a CA's subject
    in PrintableString still matches the same issuer written as UTF8String).
    """
    rdns = [
        sorted((a.oid.dotted_string,
                a.value.hex() if isinstance(a.value, bytes)
                else " ".join(a.value.split()).casefold())
               for a in rdn)
        for rdn in name.rdns
    ]
    return hashlib.sha256(json.dumps(rdns, ensure_ascii=False).encode()).hexdigest()


def cluster_from_row(row: Row[Any]) -> Cluster:
    return Cluster(name=row.name, domain=row.domain, security_mode=row.security_mode,
                   sso_enabled=bool(row.sso_enabled), san_match=SanMatch(row.san_match),
                   phone_count=row.phone_count, id=row.id, ctl_sha256=row.ctl_sha256)


def cluster_values(c: Cluster) -> dict[str, Any]:
    return {"name": c.name, "domain": c.domain, "security_mode": c.security_mode,
            "sso_enabled": c.sso_enabled, "san_match": SanMatch(c.san_match).value,
            "phone_count": c.phone_count, "ctl_sha256": c.ctl_sha256}


def node_from_row(row: Row[Any]) -> Node:
    ws = WebSecurity(orgunit=row.ws_orgunit, orgname=row.ws_orgname,
                     locality=row.ws_locality, state=row.ws_state, country=row.ws_country,
                     alternate_hostnames=tuple(json.loads(row.ws_alternate_hostnames)))
    return Node(hostname=row.hostname, domain=row.domain, address=row.address,
                role=Role(row.role), services=tuple(json.loads(row.services)),
                web_security=ws, ports=tuple((k, int(p)) for k, p in json.loads(row.ports)),
                id=row.id)


def node_values(n: Node) -> dict[str, Any]:
    ws = n.web_security
    return {"hostname": n.hostname, "hostname_key": n.hostname.lower(),
            "domain": n.domain, "address": n.address, "role": Role(n.role).value,
            "services": json.dumps(list(n.services)),
            "ports": json.dumps([[k, p] for k, p in n.ports]),
            "ws_orgunit": ws.orgunit, "ws_orgname": ws.orgname,
            "ws_locality": ws.locality, "ws_state": ws.state, "ws_country": ws.country,
            "ws_alternate_hostnames": json.dumps(list(ws.alternate_hostnames))}


def _cert_values(cert: x509.Certificate) -> dict[str, Any]:
    return {"der": cert.public_bytes(Encoding.DER),
            "serial_hex": format(cert.serial_number, "x"),
            "not_before": cert.not_valid_before_utc}


def identity_values(i: Identity, sealed_key: bytes) -> dict[str, Any]:
    cert = i.certificate
    return {**_cert_values(cert), "purpose": i.purpose,
            # Derived search columns: bounded to the column size (the DER is the truth).
            "common_name": common_name(cert.subject)[:NAME],
            "issuer": cert.issuer.rfc4514_string()[:NAME], "not_after": cert.not_valid_after_utc,
            "sha256": cert.fingerprint(hashes.SHA256()).hex(),
            "distribution": Distribution(i.distribution).value, "filename": i.filename,
            "description": i.description, "sealed_key": sealed_key}


def identity_from_row(row: Row[Any], key: PrivateKey | None) -> Identity:
    return Identity(node=row.hostname, purpose=row.purpose,
                    certificate=x509.load_der_x509_certificate(row.der),
                    filename=row.filename, description=row.description,
                    distribution=Distribution(row.distribution), key=key)


def csr_values(c: PendingCsr, sealed_key: bytes) -> dict[str, Any]:
    return {"purpose": c.purpose, "der": c.csr.public_bytes(Encoding.DER),
            "distribution": Distribution(c.distribution).value,
            "common_name": c.common_name, "sans": json.dumps(list(c.sans)),
            "key_type": KeyType(c.key_type).value, "key_length": c.key_length,
            "hash": c.hash, "node_list": json.dumps(list(c.nodes)), "created": c.created,
            "sealed_key": sealed_key}


def csr_from_row(row: Row[Any], key: PrivateKey | None) -> PendingCsr:
    return PendingCsr(node=row.hostname, purpose=row.purpose,
                      csr=x509.load_der_x509_csr(row.der),
                      distribution=Distribution(row.distribution),
                      common_name=row.common_name, sans=tuple(json.loads(row.sans)),
                      key_type=KeyType(row.key_type), key_length=row.key_length,
                      hash=row.hash, nodes=tuple(json.loads(row.node_list)),
                      created=row.created, key=key)


def trust_values(e: TrustEntry) -> dict[str, Any]:
    cert = e.certificate
    return {**_cert_values(cert), "store": e.store, "filename": e.filename,
            "filename_key": e.filename.lower(), "subject_cn": store_key(cert),
            "subject_hash": subject_key(cert.subject), "description": e.description,
            "added": added_at(e)}


def added_at(e: TrustEntry) -> dt.datetime:
    """When the entry was added: the use case stamps it (the store reads no clock)."""
    if e.added is None:
        raise UccertsError(f"Trust entry {e.filename} has no time it was added",
                           code="trust-entry-undated",
                           fix="Stamp TrustEntry.added with the context's clock")
    return e.added


def trust_from_row(row: Row[Any]) -> TrustEntry:
    return TrustEntry(node=row.hostname, store=row.store, filename=row.filename,
                      certificate=x509.load_der_x509_certificate(row.der),
                      description=row.description, added=row.added)


def audit_values(e: AuditEntry) -> dict[str, Any]:
    return {"at": e.at, "actor": e.actor, "source": e.source, "cluster": e.cluster,
            "node": e.node, "purpose": e.purpose, "action": e.action, "outcome": e.outcome,
            "detail": e.detail}


def audit_from_row(row: Row[Any]) -> AuditEntry:
    return AuditEntry(at=row.at, actor=row.actor, action=row.action, outcome=row.outcome,
                      node=row.node, purpose=row.purpose, detail=row.detail,
                      source=row.source, cluster=row.cluster)


def service_load_values(load: ServiceLoad, sealed_key: bytes | None) -> dict[str, Any]:
    der = load.certificate.public_bytes(Encoding.DER) if load.certificate else None
    return {"service": load.service, "state": str(load.state), "der": der,
            "sealed_key": sealed_key, "snapshot": bytes(load.snapshot),
            "loaded_at": load.loaded_at}


def service_load_from_row(row: Row[Any], key: PrivateKey | None) -> ServiceLoad:
    cert = x509.load_der_x509_certificate(row.der) if row.der is not None else None
    return ServiceLoad(node=row.hostname, service=row.service, state=ServiceState(row.state),
                       certificate=cert, key=key, snapshot=bytes(row.snapshot),
                       loaded_at=row.loaded_at)


def phone_values(p: PhoneRecord, cluster_id: int, tftp_node_id: int, cm_node_id: int
                 ) -> dict[str, Any]:
    return {"cluster_id": cluster_id, "mac": p.mac, "tftp_node_id": tftp_node_id,
            "cm_node_id": cm_node_id, "itl_sha256": p.itl_sha256, "ctl_sha256": p.ctl_sha256}


def phone_from_row(row: Row[Any]) -> PhoneRecord:
    """From a row carrying the host names as ``tftp_host`` and ``cm_host``."""
    return PhoneRecord(mac=row.mac, tftp_node=row.tftp_host, cm_node=row.cm_host,
                       itl_sha256=row.itl_sha256, ctl_sha256=row.ctl_sha256)


def runbook_values(r: Runbook, cluster_id: int) -> dict[str, Any]:
    return {"cluster_id": cluster_id, "purpose": r.purpose,
            "options": json.dumps(options_to_json(r.options)), "state": str(r.state),
            "message": r.message,
            "created": r.created, "updated": r.updated}


def runbook_from_row(row: Row[Any], steps: tuple[RunbookStep, ...]) -> Runbook:
    """From a row carrying the cluster's name as ``cluster``."""
    return Runbook(id=row.id, cluster=row.cluster, purpose=row.purpose,
                   options=options_from_json(json.loads(row.options)),
                   state=RunbookState(row.state), created=row.created,
                   updated=row.updated, steps=steps, message=row.message)


def runbook_step_values(s: RunbookStep, runbook_id: int) -> dict[str, Any]:
    return {"runbook_id": runbook_id, "n": s.n, "node": s.node, "action": s.action,
            "detail": s.detail, "service": s.service, "state": str(s.state), "output": s.output,
            "started": s.started, "finished": s.finished}


def runbook_step_from_row(row: Row[Any]) -> RunbookStep:
    return RunbookStep(n=row.n, node=row.node, action=row.action, detail=row.detail,
                       service=row.service, state=StepState(row.state), output=row.output,
                       started=row.started, finished=row.finished)


def token_values(token: ApiToken) -> dict[str, Any]:
    return {"sha256": token.sha256, "owner": token.owner, "name": token.name,
            "created": token.created, "expires": token.expires, "revoked": token.revoked}


def token_from_row(row: Row[Any]) -> ApiToken:
    return ApiToken(sha256=row.sha256, owner=row.owner, name=row.name, created=row.created,
                    expires=row.expires, revoked=bool(row.revoked))
