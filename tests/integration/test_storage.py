"""The storage port's contract, run against MemoryStore, SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Protocol

import pytest
from cryptography.hazmat.primitives import serialization

from tests.integration.conftest import NOW, AnyStore, CertFactory
from uccerts.domain.keys import PrivateKey
from uccerts.domain.model import (
    ApiToken,
    AuditEntry,
    Cluster,
    Distribution,
    Identity,
    Node,
    PendingCsr,
    SanMatch,
    TrustEntry,
    WebSecurity,
)
from uccerts.domain.purposes import KeyType, Role
from uccerts.errors import NotFound, Refused, UccertsError
from uccerts.storage.ports import UnitOfWork


def node(hostname: str, role: Role = Role.SUBSCRIBER) -> Node:
    return Node(hostname=hostname, domain="uc.example", address="127.0.1.1", role=role,
                services=("tomcat", "callmanager"), ports=(("tomcat", 8443),))


class HasUow(Protocol):
    def uow(self) -> UnitOfWork: ...


def make_cluster(store: HasUow, name: str = "lab") -> None:
    with store.uow() as uow:
        uow.clusters.add(Cluster(name=name, domain="uc.example"),
                         [node("cucm-sub1"), node("cucm-pub", Role.PUBLISHER),
                          node("imp-1", Role.IMP)])
        uow.commit()


def pkcs8(key: PrivateKey | None) -> bytes:
    assert key is not None
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def identity(certs: CertFactory, host: str = "cucm-pub", purpose: str = "tomcat",
             cn: str = "cucm-pub.uc.example") -> Identity:
    issued = certs.certificate(cn)
    return Identity(node=host, purpose=purpose, certificate=issued.cert,
                    filename=f"{purpose}.pem", description="self-signed", key=issued.key)


def pending(certs: CertFactory, host: str = "cucm-pub", purpose: str = "tomcat") -> PendingCsr:
    csr, key = certs.csr("cucm-pub.uc.example", ["cucm-pub.uc.example"])
    return PendingCsr(node=host, purpose=purpose, csr=csr,
                      distribution=Distribution.MULTI_SERVER, common_name="cucm-pub-ms",
                      sans=("cucm-pub.uc.example", "cucm-sub1.uc.example"),
                      key_type=KeyType.EC, key_length=256, hash="SHA256",
                      nodes=("cucm-pub", "cucm-sub1"), created=NOW, key=key)


def trust_entry(certs: CertFactory, cn: str, filename: str | None = None,
                host: str = "cucm-pub", store: str = "tomcat-trust") -> TrustEntry:
    return TrustEntry(node=host, store=store, filename=filename or f"{cn}.pem",
                      certificate=certs.ca(cn).cert, description="CA", added=NOW)


# ------------------------------------------------------------------- clusters


def test_cluster_round_trip_and_settings_update(any_store: AnyStore) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        got = uow.clusters.get("lab")
        assert got is not None and got.id is not None
        assert (got.name, got.domain, got.security_mode, got.san_match) == (
            "lab", "uc.example", 0, SanMatch.EXACT)
        uow.clusters.update(Cluster(name="lab", domain="ignored", security_mode=1,
                                    sso_enabled=True, san_match=SanMatch.SUPERSET,
                                    phone_count=12))
        uow.commit()
    with any_store.uow() as uow:
        got = uow.clusters.get("lab")
        assert got is not None
        assert (got.domain, got.security_mode, got.sso_enabled, got.san_match,
                got.phone_count) == ("uc.example", 1, True, SanMatch.SUPERSET, 12)
        assert uow.clusters.get("nope") is None
        with pytest.raises(NotFound) as err:
            uow.clusters.update(Cluster(name="nope", domain="x"))
        assert err.value.code == "cluster-not-found"


def test_duplicate_cluster_is_refused_and_unit_stays_usable(any_store: AnyStore) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        with pytest.raises(Refused) as err:
            uow.clusters.add(Cluster(name="lab", domain="other"), [node("x")])
        assert err.value.code == "cluster-exists"
        uow.clusters.add(Cluster(name="lab2", domain="uc.example"), [node("x")])
        uow.commit()
    with any_store.uow() as uow:
        assert [c.name for c in uow.clusters.list()] == ["lab", "lab2"]


def test_duplicate_host_in_new_cluster_stores_nothing(any_store: AnyStore) -> None:
    with any_store.uow() as uow:
        with pytest.raises(Refused) as err:
            uow.clusters.add(Cluster(name="lab", domain="uc.example"),
                             [node("cucm-pub", Role.PUBLISHER), node("CUCM-PUB")])
        assert err.value.code == "node-exists"
        uow.commit()
    with any_store.uow() as uow:
        assert uow.clusters.get("lab") is None


def test_nodes_publisher_first_then_insertion_order(any_store: AnyStore) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        assert [n.hostname for n in uow.clusters.nodes("lab")] == [
            "cucm-pub", "cucm-sub1", "imp-1"]
        pub = uow.clusters.node("lab", "CUCM-Pub")
        assert pub is not None and pub.hostname == "cucm-pub" and pub.role is Role.PUBLISHER
        assert pub.services == ("tomcat", "callmanager") and pub.ports == (("tomcat", 8443),)
        assert uow.clusters.node("lab", "missing") is None
        assert uow.clusters.nodes("nope") == []


def test_update_node_changes_web_security_services_and_ports(any_store: AnyStore) -> None:
    make_cluster(any_store)
    ws = WebSecurity(orgunit="UC", orgname="Example", locality="Seoul", state="Seoul",
                     country="KR", alternate_hostnames=("alt.uc.example", "10.0.0.9"))
    with any_store.uow() as uow:
        old = uow.clusters.node("lab", "cucm-pub")
        assert old is not None
        uow.clusters.update_node("lab", Node(
            hostname="CUCM-PUB", domain="changed", address="10.9.9.9", role=Role.IMP,
            services=("tomcat",), web_security=ws, ports=(("tomcat", 9443),)))
        uow.commit()
    with any_store.uow() as uow:
        new = uow.clusters.node("lab", "cucm-pub")
        assert new is not None
        assert (new.web_security, new.services, new.ports) == (ws, ("tomcat",),
                                                               (("tomcat", 9443),))
        assert (new.domain, new.address, new.role, new.id) == (
            old.domain, old.address, old.role, old.id)
        with pytest.raises(NotFound) as err:
            uow.clusters.update_node("lab", node("ghost"))
        assert err.value.code == "node-not-found"


def test_same_host_names_in_two_clusters_are_independent(any_store: AnyStore,
                                                         certs: CertFactory) -> None:
    make_cluster(any_store, "east")
    make_cluster(any_store, "west")
    with any_store.uow() as uow:
        uow.identities.put("east", identity(certs))
        uow.commit()
    with any_store.uow() as uow:
        assert uow.identities.get("west", "cucm-pub", "tomcat") is None
        assert len(uow.identities.list("east")) == 1


# ----------------------------------------------------------------- identities


def test_identity_put_get_list_replace(any_store: AnyStore, certs: CertFactory) -> None:
    make_cluster(any_store)
    first = identity(certs)
    with any_store.uow() as uow:
        uow.identities.put("lab", first)
        uow.identities.put("lab", identity(certs, host="cucm-sub1", cn="cucm-sub1"))
        uow.commit()
    with any_store.uow() as uow:
        got = uow.identities.get("lab", "CUCM-PUB", "tomcat")
        assert got is not None and got.key is not None
        assert got.node == "cucm-pub" and got.certificate == first.certificate
        assert pkcs8(got.key) == pkcs8(first.key)
        assert (got.filename, got.description, got.distribution) == (
            "tomcat.pem", "self-signed", Distribution.THIS_SERVER)
        listed = uow.identities.list("lab")
        assert [(i.node, i.key) for i in listed] == [("cucm-pub", None), ("cucm-sub1", None)]
        assert [i.node for i in uow.identities.list("lab", "CUCM-SUB1")] == ["cucm-sub1"]
        second = identity(certs, cn="new.uc.example")
        uow.identities.put("lab", second)
        uow.commit()
    with any_store.uow() as uow:
        got = uow.identities.get("lab", "cucm-pub", "tomcat")
        assert got is not None and got.certificate == second.certificate
        assert len(uow.identities.list("lab", "cucm-pub")) == 1


def test_identity_put_needs_key_and_known_node(any_store: AnyStore, certs: CertFactory) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        with pytest.raises(UccertsError) as err:
            uow.identities.put("lab", Identity(
                node="cucm-pub", purpose="tomcat", certificate=certs.ca("x").cert,
                filename="x.pem", description=""))
        assert err.value.code == "identity-key-required"
        with pytest.raises(NotFound) as nf:
            uow.identities.put("lab", identity(certs, host="ghost"))
        assert nf.value.code == "node-not-found"
        with pytest.raises(NotFound) as nf:
            uow.identities.put("nope", identity(certs))
        assert nf.value.code == "cluster-not-found"


# ----------------------------------------------------------------------- CSRs


def test_csr_put_reports_replacement_and_keeps_one(any_store: AnyStore,
                                                   certs: CertFactory) -> None:
    make_cluster(any_store)
    first, second = pending(certs), pending(certs)
    with any_store.uow() as uow:
        assert uow.csrs.put("lab", first) is False
        assert uow.csrs.put("lab", second) is True
        assert uow.csrs.put("lab", pending(certs, purpose="CallManager")) is False
        uow.commit()
    with any_store.uow() as uow:
        got = uow.csrs.get("lab", "Cucm-Pub", "tomcat")
        assert got is not None and got.key is not None
        assert got.csr == second.csr and pkcs8(got.key) == pkcs8(second.key)
        assert (got.distribution, got.common_name, got.sans, got.key_type, got.key_length,
                got.hash, got.nodes, got.created) == (
            Distribution.MULTI_SERVER, "cucm-pub-ms", ("cucm-pub.uc.example",
                                                       "cucm-sub1.uc.example"),
            KeyType.EC, 256, "SHA256", ("cucm-pub", "cucm-sub1"), NOW)
        assert [(c.purpose, c.key) for c in uow.csrs.list("lab")] == [
            ("CallManager", None), ("tomcat", None)]
        assert uow.csrs.list("lab", "cucm-sub1") == []
        assert uow.csrs.delete("lab", "CUCM-PUB", "tomcat") is True
        assert uow.csrs.delete("lab", "cucm-pub", "tomcat") is False
        assert uow.csrs.get("lab", "cucm-pub", "tomcat") is None


# ---------------------------------------------------------------------- trust


def test_trust_add_get_delete_case_insensitive(any_store: AnyStore,
                                               certs: CertFactory) -> None:
    make_cluster(any_store)
    entry = trust_entry(certs, "Example Root", "Example_Root.pem")
    with any_store.uow() as uow:
        uow.trust.add("lab", entry)
        with pytest.raises(Refused) as err:
            uow.trust.add("lab", trust_entry(certs, "Other", "EXAMPLE_ROOT.PEM"))
        assert err.value.code == "trust-file-exists"
        # The same name in another store or node is another file.
        uow.trust.add("lab", trust_entry(certs, "Other", "Example_Root.pem",
                                         store="CallManager-trust"))
        uow.trust.add("lab", trust_entry(certs, "Other", "Example_Root.pem", host="imp-1"))
        uow.commit()
    with any_store.uow() as uow:
        got = uow.trust.get("lab", "cucm-pub", "tomcat-trust", "example_root.PEM")
        assert got is not None and got.certificate == entry.certificate
        assert got.filename == "Example_Root.pem" and got.node == "cucm-pub"
        assert got.added is not None and got.added.tzinfo is not None
        assert uow.trust.filenames("lab", "CUCM-pub", "tomcat-trust") == {"Example_Root.pem"}
        assert len(uow.trust.list("lab")) == 3
        assert len(uow.trust.list("lab", "cucm-pub")) == 2
        assert len(uow.trust.list("lab", store="CallManager-trust")) == 1
        assert uow.trust.delete("lab", "cucm-pub", "tomcat-trust", "EXAMPLE_root.pem")
        assert not uow.trust.delete("lab", "cucm-pub", "tomcat-trust", "Example_Root.pem")
        uow.commit()
    with any_store.uow() as uow:
        assert uow.trust.get("lab", "cucm-pub", "tomcat-trust", "Example_Root.pem") is None


def test_trust_by_common_name_and_by_subject(any_store: AnyStore, certs: CertFactory) -> None:
    make_cluster(any_store)
    root = certs.ca("Example Root")
    leaf = certs.certificate("cucm-pub.uc.example", issuer=root)
    with any_store.uow() as uow:
        uow.trust.add("lab", TrustEntry(node="cucm-pub", store="tomcat-trust",
                                        filename="root.pem", certificate=root.cert,
                                        description="root", added=NOW))
        uow.trust.add("lab", trust_entry(certs, "Unrelated"))
        uow.commit()
    with any_store.uow() as uow:
        by_cn = uow.trust.by_common_name("lab", "cucm-pub", "tomcat-trust", "Example Root")
        assert by_cn is not None and by_cn.filename == "root.pem" and by_cn.added == NOW
        assert uow.trust.by_common_name("lab", "cucm-pub", "tomcat-trust", "Nope") is None
        found = uow.trust.by_subject("lab", "cucm-pub", "tomcat-trust", leaf.cert.issuer)
        assert [e.certificate for e in found] == [root.cert]
        assert uow.trust.by_subject("lab", "cucm-pub", "CallManager-trust",
                                    leaf.cert.issuer) == []


# ------------------------------------------------------- audit, settings, accounts


def test_audit_newest_first_filtered_and_limited(any_store: AnyStore) -> None:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with any_store.uow() as uow:
        for i, cluster in enumerate(["lab", "other", "lab", "lab"]):
            uow.audit.add(AuditEntry(at=base + dt.timedelta(minutes=i), actor="admin",
                                     action=f"act{i}", outcome="ok", cluster=cluster,
                                     node="cucm-pub", purpose="tomcat", detail="d"))
        uow.commit()
    with any_store.uow() as uow:
        assert [e.action for e in uow.audit.list()] == ["act3", "act2", "act1", "act0"]
        assert [e.action for e in uow.audit.list("lab", limit=2)] == ["act3", "act2"]
        first = uow.audit.list("other")[0]
        assert first == AuditEntry(at=base + dt.timedelta(minutes=1), actor="admin",
                                   action="act1", outcome="ok", node="cucm-pub",
                                   purpose="tomcat", detail="d", source="cli",
                                   cluster="other")


def test_settings_put_replaces(any_store: AnyStore) -> None:
    with any_store.uow() as uow:
        assert uow.settings.get("ca") is None
        uow.settings.put("ca", b"\x00one")
        uow.settings.put("ca", b"\x00two")
        uow.commit()
    with any_store.uow() as uow:
        assert uow.settings.get("ca") == b"\x00two"


def test_accounts(any_store: AnyStore) -> None:
    with any_store.uow() as uow:
        uow.accounts.add("zed", "read-only", "h1", created=NOW)
        uow.accounts.add("admin", "read-write", "h2", created=NOW)
        with pytest.raises(Refused) as err:
            uow.accounts.add("admin", "read-only", "h3", created=NOW)
        assert err.value.code == "account-exists"
        uow.commit()
    with any_store.uow() as uow:
        assert uow.accounts.list() == [("admin", "read-write"), ("zed", "read-only")]
        assert uow.accounts.get("admin") == ("read-write", "h2")
        assert uow.accounts.set_password("admin", "h4") is True
        assert uow.accounts.set_password("ghost", "h4") is False
        assert uow.accounts.get("admin") == ("read-write", "h4")
        assert uow.accounts.remove("zed") is True and uow.accounts.remove("zed") is False
        assert uow.accounts.get("ghost") is None
        uow.commit()


def test_the_store_reads_no_clock_a_trust_entry_needs_its_time(
        any_store: AnyStore, certs: CertFactory) -> None:
    make_cluster(any_store)
    undated = replace(trust_entry(certs, "Undated"), added=None)
    with any_store.uow() as uow, pytest.raises(UccertsError) as err:
        uow.trust.add("lab", undated)
    assert err.value.code == "trust-entry-undated"


def test_api_tokens(any_store: AnyStore) -> None:
    token = ApiToken(sha256="ab" * 32, owner="admin", name="nightly export",
                     created=NOW, expires=NOW + dt.timedelta(hours=24))
    with any_store.uow() as uow:
        assert uow.tokens.get(token.sha256) is None
        uow.tokens.add(token)
        with pytest.raises(Refused) as err:
            uow.tokens.add(token)
        assert err.value.code == "token-exists"
        uow.commit()
    with any_store.uow() as uow:
        assert uow.tokens.get(token.sha256) == token
        assert uow.tokens.revoke(token.sha256) is True
        assert uow.tokens.revoke("cd" * 32) is False
        uow.commit()
    with any_store.uow() as uow:
        stored = uow.tokens.get(token.sha256)
        assert stored is not None and stored.revoked
        assert stored.expires == NOW + dt.timedelta(hours=24)
        assert stored.expires.tzinfo is not None
    with any_store.uow() as uow:  # not committed: gone
        uow.tokens.add(ApiToken(sha256="ef" * 32, owner="a", name="", created=NOW,
                                expires=NOW))
    with any_store.uow() as uow:
        assert uow.tokens.get("ef" * 32) is None


# ------------------------------------------------------------ unit of work


def test_leaving_without_commit_rolls_everything_back(any_store: AnyStore,
                                                      certs: CertFactory) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        uow.identities.put("lab", identity(certs))
        uow.csrs.put("lab", pending(certs))
        uow.trust.add("lab", trust_entry(certs, "Root"))
        uow.settings.put("k", b"v")
        uow.accounts.add("a", "read-only", "h", created=NOW)
        uow.audit.add(AuditEntry(at=NOW, actor="x", action="y", outcome="ok"))
        uow.clusters.add(Cluster(name="lab2", domain="d"), [node("n")])
    with any_store.uow() as uow:
        assert uow.identities.list("lab") == [] and uow.csrs.list("lab") == []
        assert uow.trust.list("lab") == [] and uow.settings.get("k") is None
        assert uow.accounts.list() == [] and uow.audit.list() == []
        assert [c.name for c in uow.clusters.list()] == ["lab"]


def test_rollback_then_commit_and_work_after_commit(any_store: AnyStore) -> None:
    with any_store.uow() as uow:
        uow.settings.put("dropped", b"1")
        uow.rollback()
        uow.settings.put("kept", b"2")
        uow.commit()
        uow.settings.put("after-commit", b"3")  # a new transaction, never committed
    with any_store.uow() as uow:
        assert uow.settings.get("dropped") is None
        assert uow.settings.get("kept") == b"2"
        assert uow.settings.get("after-commit") is None


def test_lock_node_checks_the_node(any_store: AnyStore) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        uow.lock_node("lab", "CUCM-PUB")
        with pytest.raises(NotFound):
            uow.lock_node("lab", "ghost")


def test_by_subject_compares_names_as_rfc5280_does(any_store: AnyStore,
                                                   certs: CertFactory) -> None:
    """Case, white space and attribute order inside an RDN do not matter."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    def name(cn: str, o: str) -> x509.Name:
        return x509.Name([x509.RelativeDistinguishedName([
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)])])

    make_cluster(any_store)
    stored = certs.certificate("x", ca=True, subject=name("Example  Root", "Example Inc"))
    with any_store.uow() as uow:
        uow.trust.add("lab", TrustEntry(node="cucm-pub", store="tomcat-trust",
                                        filename="r.pem", certificate=stored.cert,
                                        description="", added=NOW))
        found = uow.trust.by_subject("lab", "cucm-pub", "tomcat-trust",
                                     name("example root", "EXAMPLE INC"))
        assert [e.filename for e in found] == ["r.pem"]
        assert uow.trust.by_subject("lab", "cucm-pub", "tomcat-trust",
                                    name("example root", "Other Inc")) == []
