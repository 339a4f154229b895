"""State of the running cluster (``serve``): service loads, phones, trust files, the
cluster's CTL. The contract runs on MemoryStore, SQLite and PostgreSQL (``any_store``);
keys at rest, cascades and the 0001 -> 0002 upgrade need a real database."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import pytest
from alembic import command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import inspect, text

from tests.integration.conftest import NOW, AnyStore, CertFactory, Database
from tests.integration.test_storage import make_cluster, pkcs8
from uccerts.domain.model import Cluster, PhoneRecord, ServiceLoad
from uccerts.errors import NotFound, Refused, SystemFailure
from uccerts.storage.migrate import alembic_config, current_revision, head_revision, upgrade
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql import SqlStore


def started(certs: CertFactory, host: str = "cucm-pub", service: str = "Cisco Tomcat",
            snapshot: bytes = b"\x00prepared\xff") -> ServiceLoad:
    issued = certs.certificate(f"{host}.uc.example")
    return ServiceLoad(node=host, service=service, state="STARTED", certificate=issued.cert,
                       key=issued.key, snapshot=snapshot, loaded_at=NOW)


def mac(i: int) -> str:
    return f"{0x00AA00000000 + i:012X}"


def phones(count: int, start: int = 0, tftp: str = "cucm-pub", cm: str = "cucm-sub1"
           ) -> list[PhoneRecord]:
    return [PhoneRecord(mac=mac(i), tftp_node=tftp, cm_node=cm)
            for i in range(start, start + count)]


# --------------------------------------------------------------- service loads


def test_service_loads_round_trip_upsert_and_delete(any_store: AnyStore,
                                                    certs: CertFactory) -> None:
    make_cluster(any_store)
    tomcat = started(certs)
    with any_store.uow() as uow:
        uow.runtime.put_load("lab", ServiceLoad(node="CUCM-SUB1", service="Cisco TFTP",
                                                state="STOPPED"))
        uow.runtime.put_load("lab", tomcat)
        uow.runtime.put_load("lab", started(certs, service="Cisco CallManager"))
        uow.commit()
    with any_store.uow() as uow:
        loads = uow.runtime.loads("lab")
        assert [(x.node, x.service, x.state) for x in loads] == [
            ("cucm-pub", "Cisco CallManager", "STARTED"), ("cucm-pub", "Cisco Tomcat", "STARTED"),
            ("cucm-sub1", "Cisco TFTP", "STOPPED")]
        got = loads[1]
        assert got.certificate == tomcat.certificate and pkcs8(got.key) == pkcs8(tomcat.key)
        assert (got.snapshot, got.loaded_at) == (b"\x00prepared\xff", NOW)
        assert loads[2] == ServiceLoad(node="cucm-sub1", service="Cisco TFTP", state="STOPPED")
        # Upsert by (node, service): the later load replaces the earlier one.
        again = started(certs, host="Cucm-Pub", snapshot=b"")
        uow.runtime.put_load("lab", replace(again, loaded_at=NOW + dt.timedelta(hours=1)))
        uow.runtime.put_load("lab", ServiceLoad(node="cucm-pub", service="Cisco CallManager",
                                                state="STOPPED"))
        uow.commit()
    with any_store.uow() as uow:
        loads = uow.runtime.loads("lab")
        assert len(loads) == 3
        cm, tc = loads[0], loads[1]
        assert (cm.state, cm.certificate, cm.key) == ("STOPPED", None, None)
        assert tc.certificate == again.certificate and pkcs8(tc.key) == pkcs8(again.key)
        assert (tc.node, tc.snapshot, tc.loaded_at) == (
            "cucm-pub", b"", NOW + dt.timedelta(hours=1))
        assert uow.runtime.delete_load("lab", "CUCM-PUB", "Cisco Tomcat") is True
        assert uow.runtime.delete_load("lab", "cucm-pub", "Cisco Tomcat") is False
        assert [x.service for x in uow.runtime.loads("lab")] == ["Cisco CallManager",
                                                                 "Cisco TFTP"]
        assert uow.runtime.loads("nope") == []


def test_service_load_of_unknown_node_or_cluster_is_not_found(any_store: AnyStore,
                                                              certs: CertFactory) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        for call, code in [
                (lambda: uow.runtime.put_load("lab", started(certs, host="ghost")),
                 "node-not-found"),
                (lambda: uow.runtime.put_load("nope", started(certs)), "cluster-not-found"),
                (lambda: uow.runtime.delete_load("lab", "ghost", "Cisco Tomcat"),
                 "node-not-found")]:
            with pytest.raises(NotFound) as err:
                call()
            assert err.value.code == code


# ---------------------------------------------------------------------- phones


def test_phones_bulk_add_listed_by_mac_with_stored_host_names(any_store: AnyStore) -> None:
    make_cluster(any_store)
    make_cluster(any_store, "other")
    batch = [PhoneRecord(mac="00AA000000FF", tftp_node="CUCM-PUB", cm_node="Cucm-Sub1",
                         itl_sha256="ab" * 32),
             PhoneRecord(mac="00AA00000001", tftp_node="cucm-sub1", cm_node="cucm-pub")]
    with any_store.uow() as uow:
        uow.phones.add("lab", batch)
        uow.phones.add("lab", [])
        uow.phones.add("other", phones(1, start=0xFF))  # the same MAC in another cluster
        uow.commit()
    with any_store.uow() as uow:
        assert uow.phones.list("lab") == [
            PhoneRecord(mac="00AA00000001", tftp_node="cucm-sub1", cm_node="cucm-pub"),
            PhoneRecord(mac="00AA000000FF", tftp_node="cucm-pub", cm_node="cucm-sub1",
                        itl_sha256="ab" * 32)]
        assert [p.mac for p in uow.phones.list("other")] == ["00AA000000FF"]
        assert uow.phones.list("nope") == []


@pytest.mark.parametrize("case", ["twice-in-batch", "already-stored"])
def test_duplicate_mac_refuses_the_whole_batch(any_store: AnyStore, case: str) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        uow.phones.add("lab", phones(3))
        uow.commit()
    batch = phones(5, start=10)
    batch.insert(3, batch[1] if case == "twice-in-batch" else phones(1, start=2)[0])
    with any_store.uow() as uow:
        with pytest.raises(Refused) as err:
            uow.phones.add("lab", batch)
        assert err.value.code == "phone-exists"
        assert mac(11 if case == "twice-in-batch" else 2) in err.value.message
        # Nothing of the batch was stored, and the unit of work is still usable.
        assert [p.mac for p in uow.phones.list("lab")] == [mac(i) for i in range(3)]
        uow.phones.add("lab", phones(1, start=20))
        uow.commit()
    with any_store.uow() as uow:
        assert [p.mac for p in uow.phones.list("lab")] == [mac(i) for i in (0, 1, 2, 20)]


def test_phones_of_unknown_node_or_cluster_are_not_found(any_store: AnyStore) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        for call, code in [
                (lambda: uow.phones.add("lab", [*phones(2), *phones(1, 5, cm="ghost")]),
                 "node-not-found"),
                (lambda: uow.phones.add("lab", phones(1, tftp="ghost")), "node-not-found"),
                (lambda: uow.phones.add("nope", phones(1)), "cluster-not-found"),
                (lambda: uow.phones.set_trust("nope", []), "cluster-not-found"),
                (lambda: uow.phones.delete_all("nope"), "cluster-not-found")]:
            with pytest.raises(NotFound) as err:
                call()
            assert err.value.code == code
        assert uow.phones.list("lab") == []


def test_set_trust_for_ten_thousand_phones(any_store: AnyStore) -> None:
    make_cluster(any_store)
    count = 10_000
    with any_store.uow() as uow:
        uow.phones.add("lab", phones(count))
        uow.commit()
    updates = [(mac(i), f"{i:064x}", None if i % 2 else f"{i + 1:064x}") for i in range(count)]
    with any_store.uow() as uow:
        uow.phones.set_trust("lab", [*updates, ("FFFFFFFFFFFF", "00" * 32, None)])
        uow.phones.set_trust("lab", [])
        uow.commit()
    with any_store.uow() as uow:
        listed = uow.phones.list("lab")
        assert [(p.mac, p.itl_sha256, p.ctl_sha256) for p in listed] == updates
        assert (listed[0].tftp_node, listed[0].cm_node) == ("cucm-pub", "cucm-sub1")
        uow.phones.set_trust("lab", [(mac(7), None, None)])
        uow.commit()
    with any_store.uow() as uow:
        seventh = uow.phones.list("lab")[7]
        assert (seventh.mac, seventh.itl_sha256, seventh.ctl_sha256) == (mac(7), None, None)


def test_delete_all_phones_of_one_cluster_keeps_files(any_store: AnyStore) -> None:
    make_cluster(any_store)
    make_cluster(any_store, "other")
    with any_store.uow() as uow:
        uow.phones.add("lab", phones(4))
        uow.phones.add("other", phones(2))
        uow.phones.put_file("aa" * 32, b"ITL")
        uow.commit()
    with any_store.uow() as uow:
        assert uow.phones.delete_all("lab") == 4
        assert uow.phones.delete_all("lab") == 0
        uow.commit()
    with any_store.uow() as uow:
        assert uow.phones.list("lab") == [] and len(uow.phones.list("other")) == 2
        assert uow.phones.file("aa" * 32) == b"ITL"


def test_trust_files_are_content_addressed_and_idempotent(any_store: AnyStore) -> None:
    itl = b"\x01\x02signed ITL\x00" * 100
    digest = hashlib.sha256(itl).hexdigest()
    with any_store.uow() as uow:
        assert uow.phones.file(digest) is None
        uow.phones.put_file(digest, itl)
        uow.phones.put_file(digest, itl)
        uow.commit()
    with any_store.uow() as uow:
        uow.phones.put_file(digest, bytearray(itl))  # a third time, in another unit
        uow.commit()
    with any_store.uow() as uow:
        got = uow.phones.file(digest)
        assert got == itl and type(got) is bytes
        assert uow.phones.file("00" * 32) is None


# -------------------------------------------------------------- the cluster CTL


def test_cluster_ctl_sha256_is_stored_by_add_and_update(any_store: AnyStore) -> None:
    with any_store.uow() as uow:
        uow.clusters.add(Cluster(name="lab", domain="uc.example", ctl_sha256="cd" * 32), [])
        uow.clusters.add(Cluster(name="plain", domain="uc.example"), [])
        uow.commit()
    with any_store.uow() as uow:
        lab, plain = uow.clusters.list()
        assert (lab.ctl_sha256, plain.ctl_sha256) == ("cd" * 32, None)
        uow.clusters.update(Cluster(name="plain", domain="uc.example", security_mode=1,
                                    ctl_sha256="ef" * 32))
        uow.clusters.update(Cluster(name="lab", domain="uc.example"))
        uow.commit()
    with any_store.uow() as uow:
        assert [(c.name, c.security_mode, c.ctl_sha256) for c in uow.clusters.list()] == [
            ("lab", 0, None), ("plain", 1, "ef" * 32)]


def test_runtime_state_is_dropped_without_commit(any_store: AnyStore,
                                                 certs: CertFactory) -> None:
    make_cluster(any_store)
    with any_store.uow() as uow:
        uow.runtime.put_load("lab", started(certs))
        uow.phones.add("lab", phones(3))
        uow.phones.put_file("aa" * 32, b"ITL")
    with any_store.uow() as uow:
        assert uow.runtime.loads("lab") == [] and uow.phones.list("lab") == []
        assert uow.phones.file("aa" * 32) is None


# ------------------------------------------------------------- real databases


def test_service_keys_are_sealed_at_rest_and_bound_to_their_row(
        sql_db: Database, sql_store: SqlStore, certs: CertFactory) -> None:
    make_cluster(sql_store)
    tomcat, tftp = started(certs), started(certs, host="cucm-sub1", service="Cisco TFTP")
    with sql_store.uow() as uow:
        uow.runtime.put_load("lab", tomcat)
        uow.runtime.put_load("lab", tftp)
        uow.commit()
    with sql_db.engine.connect() as conn:
        dump = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                        for row in conn.execute(text("SELECT * FROM service_loads"))
                        for v in row)
    if sql_db.path is not None:  # SQLite: the very bytes on disk, WAL included
        sql_db.engine.dispose()
        dump += b"".join(p.read_bytes() for p in sql_db.path.parent.iterdir())
    for load in (tomcat, tftp):
        assert isinstance(load.key, ec.EllipticCurvePrivateKey)
        assert pkcs8(load.key) not in dump
        assert load.key.private_numbers().private_value.to_bytes(32, "big") not in dump
        assert load.certificate is not None
        assert load.certificate.public_bytes(serialization.Encoding.DER) in dump  # sanity
    assert b"PRIVATE KEY" not in dump

    with sql_db.engine.begin() as conn:  # tftp's blob into tomcat's row
        conn.execute(text("UPDATE service_loads SET sealed_key = (SELECT sealed_key FROM "
                          "service_loads WHERE service = 'Cisco TFTP') "
                          "WHERE service = 'Cisco Tomcat'"))
    with sql_store.uow() as uow, pytest.raises(SystemFailure) as err:
        uow.runtime.loads("lab")
    assert err.value.code == "master-key-mismatch"


def test_service_keys_open_only_with_their_master_key(sql_db: Database, sql_store: SqlStore,
                                                      certs: CertFactory) -> None:
    make_cluster(sql_store)
    with sql_store.uow() as uow:
        uow.runtime.put_load("lab", started(certs))
        uow.commit()
    with SqlStore(sql_db.engine, Sealer(b"\x07" * 32)).uow() as uow, \
            pytest.raises(SystemFailure) as err:
        uow.runtime.loads("lab")
    assert err.value.code == "master-key-mismatch"


def test_deleting_a_cluster_cascades_to_its_runtime_state(sql_db: Database,
                                                          sql_store: SqlStore,
                                                          certs: CertFactory) -> None:
    make_cluster(sql_store)
    make_cluster(sql_store, "other")
    with sql_store.uow() as uow:
        for cluster in ("lab", "other"):
            uow.runtime.put_load(cluster, started(certs))
            uow.phones.add(cluster, phones(3))
        uow.phones.put_file("aa" * 32, b"ITL")
        uow.commit()
    with sql_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM clusters WHERE name = 'lab'"))
    with sql_db.engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("service_loads", "phones", "trust_files")]
    assert counts == [1, 3, 1]
    with sql_store.uow() as uow:
        assert uow.runtime.loads("lab") == [] and len(uow.runtime.loads("other")) == 1
        assert len(uow.phones.list("other")) == 3


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_a_database_at_0001_upgrades_keeping_its_data(sql_db: Database,
                                                      sql_store: SqlStore) -> None:
    # Back to an empty database, then built by revision 0001 alone.
    _migrate(sql_db, "base", down=True)
    assert set(inspect(sql_db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(sql_db.engine, "0001")
    assert current_revision(sql_db.engine) == "0001"
    with sql_db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO clusters (id, name, domain, security_mode, sso_enabled, san_match, "
            "phone_count) VALUES (1, 'lab', 'uc.example', 1, true, 'superset', 40)"))
        conn.execute(text(
            "INSERT INTO nodes (cluster_id, hostname, hostname_key, domain, address, role, "
            "services, ports, ws_orgunit, ws_orgname, ws_locality, ws_state, ws_country, "
            "ws_alternate_hostnames) VALUES (1, 'CUCM-Pub', 'cucm-pub', 'uc.example', "
            "'127.0.1.1', 'publisher', '[\"tomcat\"]', '[]', 'UC', 'Example', 'Seoul', "
            "'Seoul', 'KR', '[]')"))

    upgrade(sql_db.engine)
    assert current_revision(sql_db.engine) == head_revision()
    with sql_store.uow() as uow:
        lab = uow.clusters.get("lab")
        assert lab is not None
        assert (lab.security_mode, lab.sso_enabled, lab.phone_count, lab.ctl_sha256) == (
            1, True, 40, None)
        assert [n.hostname for n in uow.clusters.nodes("lab")] == ["CUCM-Pub"]
        uow.phones.add("lab", phones(2, tftp="cucm-pub", cm="cucm-pub"))
        uow.runtime.put_load("lab", ServiceLoad(node="cucm-pub", service="Cisco Tomcat",
                                                state="STOPPED"))
        uow.commit()

    # And back down: 0002's tables and column go, the 0001 data stays.
    _migrate(sql_db, "0001", down=True)
    names = set(inspect(sql_db.engine).get_table_names())
    assert not names & {"phones", "service_loads", "trust_files"}
    assert "ctl_sha256" not in {c["name"] for c in inspect(sql_db.engine).get_columns("clusters")}
    with sql_db.engine.connect() as conn:
        assert conn.execute(text("SELECT name, phone_count FROM clusters")).all() == [("lab", 40)]
