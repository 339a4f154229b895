"""What only a real database shows: schema, concurrency, keys at rest, error translation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, inspect, text

from tests.integration.conftest import (
    NOW,
    PG_URL,
    CertFactory,
    Database,
    open_database,
)
from tests.integration.test_storage import identity, make_cluster, pending, pkcs8
from uccerts.domain.model import TrustEntry
from uccerts.errors import NotFound, Refused, SystemFailure
from uccerts.storage.migrate import head_revision, upgrade
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql import SqlStore
from uccerts.storage.tables import metadata


def _schema(engine: Engine) -> dict[str, object]:
    """Tables as both backends can be compared: names, generic types, keys, indexes."""
    insp = inspect(engine)
    out: dict[str, object] = {}
    for table in sorted(insp.get_table_names()):
        out[table] = {
            "columns": [(c["name"], getattr(c["type"]._type_affinity, "__name__", "?"),
                         c["nullable"]) for c in insp.get_columns(table)],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted((u["name"], tuple(u["column_names"]))
                             for u in insp.get_unique_constraints(table)),
            # PostgreSQL also lists the index behind each unique constraint.
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in insp.get_indexes(table)
                              if not i.get("duplicates_constraint")),
            "fks": sorted((f["referred_table"], tuple(f["constrained_columns"]),
                           (f.get("options") or {}).get("ondelete"))
                          for f in insp.get_foreign_keys(table)),
        }
    return out


# ------------------------------------------------------------------- schema


def test_migration_matches_the_tables_and_runs_twice(sql_db: Database) -> None:
    upgrade(sql_db.engine)  # a second time: nothing to do, nothing broken
    with sql_db.engine.connect() as conn:
        assert (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                == head_revision())
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
    assert diff == []
    assert set(_schema(sql_db.engine)) == {*metadata.tables, "alembic_version"}


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="UCCERTS_TEST_PG_URL is not set")
def test_sqlite_and_postgresql_get_the_same_schema(tmp_path: Path) -> None:
    with open_database("sqlite", tmp_path) as lite, open_database("postgresql", tmp_path) as pg:
        assert _schema(lite.engine) == _schema(pg.engine)


# -------------------------------------------------------------- concurrency


def _run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together; results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as err:  # the test inspects it
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    return results


def test_one_csr_per_node_and_purpose_under_concurrent_puts(sql_store: SqlStore,
                                                            certs: CertFactory) -> None:
    make_cluster(sql_store)
    csrs = [pending(certs, host="CUCM-PUB" if i % 2 else "cucm-pub") for i in range(8)]

    def put(i: int) -> bool:
        with sql_store.uow() as uow:
            replaced = uow.csrs.put("lab", csrs[i])
            uow.commit()
            return replaced

    results = _run_threads(len(csrs), put)
    assert sorted(results, key=str) == [False] + [True] * 7, results
    with sql_store.uow() as uow:
        stored = uow.csrs.list("lab")
        assert len(stored) == 1
        assert stored[0].csr in [c.csr for c in csrs]
    with sql_store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM csrs")).scalar() == 1


def test_concurrent_cluster_creation_one_wins_one_is_refused(sql_store: SqlStore) -> None:
    def add(_: int) -> str:
        make_cluster(sql_store)
        return "ok"

    results = _run_threads(4, add)
    assert results.count("ok") == 1, results
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(refused) == 3 and {r.code for r in refused} == {"cluster-exists"}


def test_lock_node_makes_other_writers_wait(sql_store: SqlStore, certs: CertFactory) -> None:
    make_cluster(sql_store)
    locked, events = threading.Event(), []

    def holder() -> None:
        with sql_store.uow() as uow:
            uow.lock_node("lab", "cucm-pub")
            locked.set()
            time.sleep(0.5)
            events.append("holder-commit")
            uow.commit()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(30)
    with sql_store.uow() as uow:
        uow.csrs.put("lab", pending(certs))
        events.append("writer-put")
        uow.commit()
    thread.join(30)
    assert events == ["holder-commit", "writer-put"]


# ---------------------------------------------------------------- keys at rest


def test_no_private_key_in_plaintext_at_rest(sql_db: Database, sql_store: SqlStore,
                                             certs: CertFactory) -> None:
    make_cluster(sql_store)
    ident, csr = identity(certs), pending(certs)
    secrets = [pkcs8(ident.key), pkcs8(csr.key)]
    secrets += [k.private_bytes(serialization.Encoding.DER,  # type: ignore[union-attr]
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()) for k in (ident.key, csr.key)]
    with sql_store.uow() as uow:
        uow.identities.put("lab", ident)
        uow.csrs.put("lab", csr)
        uow.commit()
    with sql_db.engine.connect() as conn:
        rows = [bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                for table in ("identities", "csrs")
                for row in conn.execute(text(f"SELECT * FROM {table}"))
                for v in row]
    dump = b"".join(rows)
    if sql_db.path is not None:  # SQLite: the very bytes on disk, WAL included
        sql_db.engine.dispose()
        dump += b"".join(p.read_bytes() for p in sql_db.path.parent.iterdir())
    assert b"PRIVATE KEY" not in dump
    for key in (ident.key, csr.key):  # the private scalar alone, as in any encoding
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        secrets.append(key.private_numbers().private_value.to_bytes(32, "big"))
    for secret in secrets:
        assert secret not in dump
    assert ident.certificate.public_bytes(serialization.Encoding.DER) in dump  # sanity
    with sql_store.uow() as uow:
        got = uow.identities.get("lab", "cucm-pub", "tomcat")
        assert got is not None and pkcs8(got.key) == secrets[0]


def test_wrong_master_key_is_a_clear_system_failure(sql_db: Database, sql_store: SqlStore,
                                                    certs: CertFactory) -> None:
    make_cluster(sql_store)
    with sql_store.uow() as uow:
        uow.identities.put("lab", identity(certs))
        uow.csrs.put("lab", pending(certs))
        uow.commit()
    other_key = b"\x07" * 32
    other = SqlStore(sql_db.engine, Sealer(other_key))
    with other.uow() as uow:
        assert len(uow.identities.list("lab")) == 1  # listing needs no key
        for get in (lambda: uow.identities.get("lab", "cucm-pub", "tomcat"),
                    lambda: uow.csrs.get("lab", "cucm-pub", "tomcat")):
            with pytest.raises(SystemFailure) as err:
                get()
            assert err.value.message == "The master key does not open the sealed keys"
            assert err.value.code == "master-key-mismatch" and err.value.fix
            assert err.value.__cause__ is None and err.value.__suppress_context__
            assert other_key.hex() not in str(err.value.to_dict())


def test_a_sealed_key_moved_to_another_row_does_not_open(sql_db: Database,
                                                         sql_store: SqlStore,
                                                         certs: CertFactory) -> None:
    make_cluster(sql_store)
    with sql_store.uow() as uow:
        uow.identities.put("lab", identity(certs))
        uow.identities.put("lab", identity(certs, purpose="CallManager"))
        uow.commit()
    with sql_db.engine.begin() as conn:
        conn.execute(text("UPDATE identities SET sealed_key = (SELECT sealed_key FROM "
                          "identities WHERE purpose = 'tomcat') WHERE purpose = 'CallManager'"))
    with sql_store.uow() as uow, pytest.raises(SystemFailure) as err:
        uow.identities.get("lab", "cucm-pub", "CallManager")
    assert err.value.code == "master-key-mismatch"


# ----------------------------------------------------------------- by_subject


def test_by_subject_finds_issuers_among_many_without_scanning(
        sql_db: Database, sql_store: SqlStore, certs: CertFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_cluster(sql_store)
    key = certs.key()
    wanted = certs.ca("Issuing CA 0777")
    renewed = certs.certificate("Issuing CA 0777", ca=True, subject=wanted.cert.subject)
    leaf = certs.certificate("cucm-pub.uc.example", issuer=wanted)
    with sql_store.uow() as uow:
        for i in range(1200):
            cert = (wanted if i == 777 else certs.certificate(f"Issuing CA {i:04d}", ca=True,
                                                                key=key)).cert
            uow.trust.add("lab", TrustEntry(node="cucm-pub", store="tomcat-trust",
                                            filename=f"ca-{i}.pem", certificate=cert,
                                            description="", added=NOW))
        uow.trust.add("lab", TrustEntry(node="cucm-pub", store="tomcat-trust",
                                        filename="renewed.pem", certificate=renewed.cert,
                                        description="", added=NOW))
        uow.commit()

    parsed: list[bytes] = []
    real = x509.load_der_x509_certificate

    def counting(der: bytes) -> x509.Certificate:
        parsed.append(der)
        return real(der)

    monkeypatch.setattr(x509, "load_der_x509_certificate", counting)
    with sql_store.uow() as uow:
        found = uow.trust.by_subject("lab", "cucm-pub", "tomcat-trust", leaf.cert.issuer)
    assert sorted(e.filename for e in found) == ["ca-777.pem", "renewed.pem"]
    assert len(parsed) == 2  # only the matches were read back, not 1,201 certificates

    if sql_db.backend == "sqlite":
        with sql_db.engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT id FROM trust WHERE node_id = 1 AND "
                "store = 'tomcat-trust' AND subject_hash = 'x'")))
        assert "ix_trust_subject" in plan


# ------------------------------------------------------------ error translation


def test_driver_failures_become_system_failures(sql_db: Database,
                                                sql_store: SqlStore) -> None:
    with sql_db.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit"))
    with sql_store.uow() as uow, pytest.raises(SystemFailure) as err:
        uow.audit.list()
    assert err.value.code == "database-error" and "audit" in err.value.message


def test_unknown_cluster_or_node_is_not_found(sql_store: SqlStore, certs: CertFactory) -> None:
    make_cluster(sql_store)
    with sql_store.uow() as uow:
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: uow.lock_node("nope", "cucm-pub"), "cluster-not-found"),
            (lambda: uow.lock_node("lab", "ghost"), "node-not-found"),
            (lambda: uow.csrs.delete("lab", "ghost", "tomcat"), "node-not-found")]
        for call, code in calls:
            with pytest.raises(NotFound) as err:
                call()
            assert err.value.code == code


# ------------------------------------------------------------------- node ids


def test_reads_after_the_node_list_filter_by_its_ids_until_a_write(
        sql_store: SqlStore, certs: CertFactory) -> None:
    """After ``clusters.nodes`` the CSR and issuer look-ups filter by the node ids just
    read (no join on names) and answer as by name; any write forgets the ids."""
    make_cluster(sql_store)
    ca = certs.ca("Id Root")
    with sql_store.uow() as uow:
        uow.csrs.put("lab", pending(certs))
        uow.trust.add("lab", TrustEntry("cucm-pub", "tomcat-trust", "root.pem", ca.cert,
                                        "Root", NOW))
        uow.commit()
    with sql_store.reader() as uow:
        tx = uow._tx
        by_name = (uow.csrs.get("lab", "cucm-pub", "tomcat", with_key=False),
                   uow.trust.by_subject("lab", "cucm-pub", "tomcat-trust", ca.cert.subject))
        assert tx.known_node_id("lab", "cucm-pub") is None
        ids = {n.hostname: tx.known_node_id("lab", n.hostname)
               for n in uow.clusters.nodes("lab")}
        assert None not in ids.values() and len(set(ids.values())) == 3
        by_id = (uow.csrs.get("lab", "CUCM-PUB", "tomcat", with_key=False),
                 uow.trust.by_subject("lab", "CUCM-PUB", "tomcat-trust", ca.cert.subject))
        assert by_id == by_name and by_id[0] is not None and len(by_id[1]) == 1
        assert uow.csrs.get("lab", "cucm-sub1", "tomcat") is None
    with sql_store.uow() as uow:
        uow.clusters.nodes("lab")
        uow.csrs.delete("lab", "cucm-sub1", "tomcat")  # a write: a node may have changed
        assert uow._tx.known_node_id("lab", "cucm-pub") is None
        assert uow._tx.known_node_id("lab", "cucm-sub1") is not None  # locked, still held
