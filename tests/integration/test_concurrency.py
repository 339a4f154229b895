"""Concurrent CSR generation and uploads on one node and purpose (SQLite, PostgreSQL).

Whatever the interleaving: one CSR per node and purpose at most, every upload either
installs a certificate whose key is the identity key or is refused cleanly, and the
identity key always matches the identity certificate.
"""

from __future__ import annotations

import threading
from typing import Any

from clusters import TOPOLOGY, KeyPool, lab_ca, pem, sign
from uccerts.bootstrap import Services, build_from_uow
from uccerts.domain.csr import CsrOptions
from uccerts.domain.keys import same_public_key
from uccerts.errors import FindingsError

WORKERS = 4
ROUNDS = 4


def test_concurrent_generate_and_upload_keep_one_csr(sql_store: Any) -> None:
    pool = KeyPool()
    setup = build_from_uow(sql_store.uow, keygen=pool)
    setup.clusters.init(TOPOLOGY)
    ca = lab_ca()
    setup.certificates.upload("cucm-pub", "tomcat-trust", pem(ca.root, ca.intermediate))

    lock = threading.Lock()  # KeyPool is not thread-safe; the store is what is tested
    failures: list[BaseException] = []
    outcomes: list[str] = []

    def keygen(*args: Any) -> Any:
        with lock:
            return pool(*args)

    def worker(index: int) -> None:
        svc: Services = build_from_uow(sql_store.uow, actor=f"w{index}", keygen=keygen)
        try:
            for _ in range(ROUNDS):
                csr = svc.csrs.generate("cucm-pub", "tomcat", CsrOptions())
                leaf = sign(csr.pem).leaf
                try:
                    svc.certificates.upload("cucm-pub", "tomcat", pem(leaf))
                    outcomes.append("installed")
                except FindingsError as err:
                    # Another worker replaced or consumed the CSR in between: before
                    # the checks, or (csr-changed) between the checks and the write.
                    assert {f.code for f in err.errors} <= {"csr-key-mismatch",
                                                            "csr-not-found",
                                                            "csr-changed"}, err.findings
                    outcomes.append("refused")
        except BaseException as exc:  # collected and re-raised in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not failures, failures
    assert len(outcomes) == WORKERS * ROUNDS
    assert "installed" in outcomes

    with sql_store.uow() as uow:
        pending = [c for c in uow.csrs.list("lab") if c.purpose == "tomcat"]
        assert len([c for c in pending if c.node == "cucm-pub"]) <= 1
        identity = uow.identities.get("lab", "cucm-pub", "tomcat")
    assert identity is not None and identity.key is not None
    assert same_public_key(identity.key.public_key(), identity.certificate.public_key())
    assert identity.certificate.issuer == ca.intermediate.subject


def test_readers_do_not_wait_for_a_writer_on_sqlite(tmp_path: Any) -> None:
    import os
    import time

    from databases import open_database
    from uccerts.storage.secrets import Sealer
    from uccerts.storage.sql import SqlStore

    with open_database("sqlite", tmp_path) as db:
        store = SqlStore(db.engine, Sealer(os.urandom(32)))
        svc = build_from_uow(store.uow, read=store.reader, keygen=KeyPool())
        svc.clusters.init(TOPOLOGY)
        with store.uow() as writer:
            writer.lock_node("lab", "cucm-pub")  # holds SQLite's write lock from here
            started = time.monotonic()
            views = svc.certificates.list(kind="own")  # a reader, beside the writer
            waited = time.monotonic() - started
        assert views and waited < 5, f"the reader waited {waited:.1f} s for the writer"
