"""Stored runbooks (domain.md §10): the contract on MemoryStore, SQLite and PostgreSQL
(``any_store``); cascades and the 0002 -> 0003 upgrade need a real database."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import FrozenInstanceError, replace

import pytest
from alembic import command
from sqlalchemy import inspect, text

from tests.integration.conftest import NOW, AnyStore, Database
from tests.integration.test_storage import HasUow, make_cluster
from uccerts.domain.model import Distribution, PhoneRecord, Runbook, RunbookStep
from uccerts.domain.runbook import CaKind, Override
from uccerts.domain.runbook_options import AcmeSettings, RunbookOptions
from uccerts.errors import NotFound, Refused
from uccerts.storage.migrate import alembic_config, current_revision, head_revision, upgrade
from uccerts.storage.ports import UnitOfWork
from uccerts.storage.sql import SqlStore

T0 = NOW.replace(microsecond=123456)
WAIT_S = 30  # bound on every wait of the concurrency tests


def steps(count: int) -> tuple[RunbookStep, ...]:
    return tuple(RunbookStep(n=i, node="cucm-pub" if i % 2 else "cucm-sub1",
                             action="restart" if i % 3 == 0 else "generate-csr",
                             detail=f"step {i}: ünïcode détail", service="Cisco Tomcat"
                             if i % 3 == 0 else "")
                 for i in range(1, count + 1))


def runbook(cluster: str = "lab", *, count: int = 3, created: dt.datetime = T0,
            purpose: str = "tomcat") -> Runbook:
    return Runbook(id=None, cluster=cluster, purpose=purpose,
                   options=RunbookOptions(nodes=("cucm-pub", "cucm-sub1")),
                   state="planned", created=created, updated=created, steps=steps(count))


def add(store: HasUow, *runbooks: Runbook) -> list[int]:
    with store.uow() as uow:
        ids = [uow.runbooks.add(r) for r in runbooks]
        uow.commit()
    return ids


def get(store: HasUow, runbook_id: int) -> Runbook:
    with store.uow() as uow:
        found = uow.runbooks.get(runbook_id)
    assert found is not None
    return found


def get_in(uow: UnitOfWork, runbook_id: int) -> Runbook:
    found = uow.runbooks.get(runbook_id)
    assert found is not None
    return found


# ------------------------------------------------------------------ contract


def test_round_trip_with_twenty_steps_and_a_large_output(any_store: AnyStore) -> None:
    make_cluster(any_store)
    chain = ("-----BEGIN CERTIFICATE-----\n" + "QUJD" * 16 + "\n") * 1000
    big = (chain + "é" * 65536)[:65536]
    assert len(big) == 65536
    kst = dt.timezone(dt.timedelta(hours=9))
    done = replace(steps(20)[4], state="done", output=big, started=T0.astimezone(kst),
                   finished=T0 + dt.timedelta(seconds=5))
    wanted = replace(runbook(count=20), message="waiting for phones",
                     options=RunbookOptions(
                         nodes=("cucm-pub",), distribution=Distribution.MULTI_SERVER,
                         overrides=frozenset({Override.MANAGE_SSO}), folder="csr-out",
                         acme=AcmeSettings("https://ca.example/dir", None, 8080, None),
                         phones_before=9, started_by="job-1"))
    wanted = replace(wanted, steps=(*wanted.steps[:4], done, *wanted.steps[5:]))
    (rid,) = add(any_store, wanted)
    got = get(any_store, rid)
    assert got == replace(wanted, id=rid)
    assert [s.n for s in got.steps] == list(range(1, 21))
    assert got.steps[4].output == big and got.steps[4].started == T0
    assert got.steps[4].started.tzinfo is not None
    assert got.steps[4].started.utcoffset() == dt.timedelta(0)
    assert got.created == T0 and got.created.utcoffset() == dt.timedelta(0)
    # What a caller does with the options it got does not reach the store: they are frozen.
    with pytest.raises(FrozenInstanceError):
        got.options.ca = CaKind.ACME  # type: ignore[misc]
    assert get(any_store, rid).options.ca is CaKind.LAB


def test_steps_come_back_ordered_by_number(any_store: AnyStore) -> None:
    make_cluster(any_store)
    (rid,) = add(any_store, replace(runbook(), steps=tuple(reversed(steps(12)))))
    assert [s.n for s in get(any_store, rid).steps] == list(range(1, 13))
    (empty,) = add(any_store, replace(runbook(), steps=()))
    assert get(any_store, empty).steps == ()


def test_set_step_changes_only_what_is_given(any_store: AnyStore) -> None:
    make_cluster(any_store)
    (rid,) = add(any_store, runbook(count=4))
    before = get(any_store, rid)
    t1, t2 = T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2)
    with any_store.uow() as uow:
        uow.runbooks.set_step(rid, 2, state="running", started=t1)
        uow.commit()
    after = get(any_store, rid)
    assert after.steps[1] == replace(before.steps[1], state="running", started=t1)
    assert after.steps[0] == before.steps[0] and after.steps[2:] == before.steps[2:]
    assert after.updated == t1
    assert (after.state, after.message, after.created, after.options) == (
        before.state, before.message, before.created, before.options)

    with any_store.uow() as uow:
        uow.runbooks.set_step(rid, 2, state="done", output="-----BEGIN CERT", finished=t2)
        uow.commit()
    step = get(any_store, rid).steps[1]
    assert (step.state, step.output, step.started, step.finished) == (
        "done", "-----BEGIN CERT", t1, t2)
    assert get(any_store, rid).updated == t2

    # Only the state: output, times kept; ``updated`` is the use case's ``at`` (the
    # store reads no clock), and stays as it was when no time at all is given.
    t3 = T0 + dt.timedelta(minutes=3)
    with any_store.uow() as uow:
        uow.runbooks.set_step(rid, 2, state="failed", at=t3)
        uow.commit()
    again = get(any_store, rid)
    assert again.steps[1] == replace(step, state="failed")
    assert again.updated == t3
    with any_store.uow() as uow:
        uow.runbooks.set_step(rid, 2, state="pending")
        uow.commit()
    assert get(any_store, rid).updated == t3
    with any_store.uow() as uow:
        uow.runbooks.set_step(rid, 2, state="done", output="")  # "" is a value, not "unchanged"
        uow.commit()
    assert get(any_store, rid).steps[1].output == ""


def test_set_state_and_message(any_store: AnyStore) -> None:
    make_cluster(any_store)
    rid, other = add(any_store, runbook(), runbook())
    t1 = T0 + dt.timedelta(hours=1)
    with any_store.uow() as uow:
        uow.runbooks.set_state(rid, "waiting", "phones are re-registering", at=t1)
        uow.commit()
    got = get(any_store, rid)
    assert (got.state, got.message, got.updated, got.created) == (
        "waiting", "phones are re-registering", t1, T0)
    assert got.steps == runbook().steps
    with any_store.uow() as uow:
        uow.runbooks.set_state(rid, "running", at=t1 + dt.timedelta(seconds=1))
        uow.commit()
    got = get(any_store, rid)
    assert (got.state, got.message) == ("running", "")
    assert get(any_store, other).state == "planned"


def test_list_newest_first_with_steps_and_cluster_filter(any_store: AnyStore) -> None:
    make_cluster(any_store)
    make_cluster(any_store, "other")
    hour = dt.timedelta(hours=1)
    ids = add(any_store,
              runbook(created=T0, count=2),
              runbook("other", created=T0 + 2 * hour, count=1),
              runbook(created=T0 + 3 * hour, count=3, purpose="CallManager"),
              runbook(created=T0 + hour, count=0),
              runbook(created=T0 + 3 * hour, count=4, purpose="ipsec"))  # same time: by id
    with any_store.uow() as uow:
        everything = uow.runbooks.list()
        lab = uow.runbooks.list("lab")
        assert [r.id for r in uow.runbooks.list(limit=2)] == [ids[4], ids[2]]
        assert [r.id for r in uow.runbooks.list("lab", limit=1)] == [ids[4]]
        assert uow.runbooks.list("nope") == []
    assert [r.id for r in everything] == [ids[4], ids[2], ids[1], ids[3], ids[0]]
    assert [r.id for r in lab] == [ids[4], ids[2], ids[3], ids[0]]
    assert [len(r.steps) for r in everything] == [4, 3, 1, 0, 2]
    assert [r.cluster for r in everything] == ["lab", "lab", "other", "lab", "lab"]
    assert everything[0] == get(any_store, ids[4])


def test_unknown_ids_are_not_found_with_their_codes(any_store: AnyStore) -> None:
    make_cluster(any_store)
    (rid,) = add(any_store, runbook(count=2))
    with any_store.uow() as uow:
        assert uow.runbooks.get(rid + 1000) is None
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: uow.runbooks.add(runbook("nope")), "cluster-not-found"),
            (lambda: uow.runbooks.set_state(rid + 1000, "done", at=T0), "runbook-not-found"),
            (lambda: uow.runbooks.lock(rid + 1000), "runbook-not-found"),
            (lambda: uow.runbooks.set_step(rid, 3, state="done"), "runbook-step-not-found"),
            (lambda: uow.runbooks.set_step(rid + 1000, 1, state="done"),
             "runbook-step-not-found")]
        for call, code in calls:
            with pytest.raises(NotFound) as err:
                call()
            assert err.value.code == code
        # A step number given twice is refused before anything is stored.
        twice = replace(runbook(), steps=(*steps(3), steps(3)[1]))
        with pytest.raises(Refused) as refused:
            uow.runbooks.add(twice)
        assert refused.value.code == "runbook-step-exists" and "2" in refused.value.message
        # The unit of work is still usable and the failed calls left nothing behind.
        assert [r.id for r in uow.runbooks.list()] == [rid]
        assert get_in(uow, rid).steps == runbook(count=2).steps
        uow.runbooks.lock(rid)
        uow.commit()


def test_a_unit_of_work_without_commit_leaves_nothing(any_store: AnyStore) -> None:
    make_cluster(any_store)
    (kept,) = add(any_store, runbook(count=3))
    before = get(any_store, kept)
    with any_store.uow() as uow:
        new = uow.runbooks.add(runbook(count=5))
        uow.runbooks.set_step(new, 1, state="done", output="x")
        uow.runbooks.set_state(kept, "failed", "boom", at=T0 + dt.timedelta(hours=1))
        uow.runbooks.set_step(kept, 2, state="running", output="partial",
                              started=T0 + dt.timedelta(hours=1))
        assert len(uow.runbooks.list()) == 2  # seen inside the unit
    with any_store.uow() as uow:
        assert uow.runbooks.get(new) is None
        assert uow.runbooks.list() == [before]
        uow.runbooks.add(runbook())
        uow.rollback()
    with any_store.uow() as uow:
        assert uow.runbooks.list() == [before]


# ------------------------------------------------------------------ concurrency


def test_lock_serialises_two_resumers(any_store: AnyStore) -> None:
    """The second ``lock`` waits until the first unit commits, then sees its change."""
    make_cluster(any_store)
    (rid,) = add(any_store, runbook(count=2))
    locked, release, begun, passed = (threading.Event() for _ in range(4))
    seen: list[str] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with any_store.uow() as uow:
                uow.runbooks.lock(rid)
                locked.set()
                assert release.wait(WAIT_S)
                uow.runbooks.set_step(rid, 1, state="running", started=T0)
                uow.commit()
        except BaseException as err:  # reported by the test thread
            errors.append(err)
            locked.set()

    def second() -> None:
        try:
            assert locked.wait(WAIT_S)
            with any_store.uow() as uow:
                uow.runbooks.get(rid)  # the transaction has begun (SQLite: waits here)
                begun.set()
                uow.runbooks.lock(rid)  # PostgreSQL: waits here
                passed.set()
                seen.append(get_in(uow, rid).steps[0].state)
                uow.commit()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for th in threads:
        th.start()
    try:
        assert locked.wait(WAIT_S)
        if any_store.backend == "postgresql":
            # The second unit is inside its transaction and blocked on the row lock.
            assert begun.wait(WAIT_S)
        assert not passed.wait(0.5), "the second lock did not wait for the first"
    finally:
        release.set()
        for th in threads:
            th.join(WAIT_S)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors
    assert seen == ["running"]


def test_concurrent_resumers_claim_a_step_once(any_store: AnyStore) -> None:
    make_cluster(any_store)
    (rid,) = add(any_store, runbook(count=2))
    count = 4
    barrier = threading.Barrier(count, timeout=WAIT_S)
    results: list[object] = [None] * count

    def claim(i: int) -> None:
        try:
            barrier.wait()
            with any_store.uow() as uow:
                uow.runbooks.lock(rid)
                if get_in(uow, rid).steps[0].state != "pending":
                    results[i] = False
                    return
                uow.runbooks.set_step(rid, 1, state="running", output=f"claimed by {i}")
                uow.commit()
                results[i] = True
        except Exception as err:  # inspected below
            results[i] = err

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(WAIT_S * 2)
    assert not any(th.is_alive() for th in threads)
    assert sorted(results, key=str) == [False] * (count - 1) + [True], results
    winner = results.index(True)
    assert get(any_store, rid).steps[0].output == f"claimed by {winner}"


# ------------------------------------------------------------- real databases


def test_deleting_a_cluster_cascades_to_its_runbooks(sql_db: Database,
                                                     sql_store: SqlStore) -> None:
    make_cluster(sql_store)
    make_cluster(sql_store, "other")
    with sql_store.uow() as uow:
        uow.runbooks.add(runbook(count=3))
        uow.runbooks.add(runbook(count=2))
        kept = uow.runbooks.add(runbook("other", count=4))
        uow.commit()
    with sql_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM clusters WHERE name = 'lab'"))
    with sql_db.engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("runbooks", "runbook_steps")]
    assert counts == [1, 4]
    with sql_store.uow() as uow:
        assert [r.id for r in uow.runbooks.list()] == [kept]
        assert uow.runbooks.list("lab") == []


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_a_database_at_0002_upgrades_keeping_its_data(sql_db: Database,
                                                      sql_store: SqlStore) -> None:
    _migrate(sql_db, "0002", down=True)
    assert current_revision(sql_db.engine) == "0002"
    assert not {"runbooks", "runbook_steps"} & set(inspect(sql_db.engine).get_table_names())
    make_cluster(sql_store)  # 0002's tables are all the repositories below use
    with sql_store.uow() as uow:
        uow.phones.add("lab", [PhoneRecord(mac="00AA00000001", tftp_node="cucm-pub",
                                           cm_node="cucm-sub1")])
        uow.phones.put_file("aa" * 32, b"ITL")
        uow.commit()

    upgrade(sql_db.engine)
    assert current_revision(sql_db.engine) == head_revision() == "0004"
    with sql_store.uow() as uow:
        assert [n.hostname for n in uow.clusters.nodes("lab")] == [
            "cucm-pub", "cucm-sub1", "imp-1"]
        assert [p.mac for p in uow.phones.list("lab")] == ["00AA00000001"]
        assert uow.phones.file("aa" * 32) == b"ITL"
        rid = uow.runbooks.add(runbook(count=2))
        uow.commit()
    assert len(get(sql_store, rid).steps) == 2

    # And back down: the runbook tables go, the 0002 data stays.
    _migrate(sql_db, "0002", down=True)
    assert not {"runbooks", "runbook_steps"} & set(inspect(sql_db.engine).get_table_names())
    with sql_store.uow() as uow:
        assert [p.mac for p in uow.phones.list("lab")] == ["00AA00000001"]


def test_unfinished_names_the_purposes_not_done_in_that_cluster(any_store: AnyStore) -> None:
    make_cluster(any_store)
    make_cluster(any_store, "other")
    done, failed, _, _ = add(any_store, runbook(purpose="tomcat"),
                             runbook(purpose="CallManager"), runbook(purpose="TVS"),
                             runbook("other", purpose="ipsec"))
    with any_store.uow() as uow:
        uow.runbooks.set_state(done, "done", at=T0)
        uow.runbooks.set_state(failed, "failed", "step 3: refused", at=T0)
        uow.commit()
    with any_store.uow() as uow:
        assert uow.runbooks.unfinished("lab") == ["CallManager", "TVS"]
        assert uow.runbooks.unfinished("other") == ["ipsec"]
        assert uow.runbooks.unfinished("nowhere") == []
