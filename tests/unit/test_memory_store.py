"""MemoryStore specifics: transactions, serialisation, misuse. The shared contract with
the SQL store runs in tests/integration/test_storage.py (``any_store``)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from uccerts.domain.model import Cluster, Distribution, Node, PendingCsr, TrustEntry
from uccerts.domain.purposes import KeyType, Role
from uccerts.errors import UccertsError
from uccerts.storage.memory import MemoryStore

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _cert(subject: x509.Name) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))


def _csr() -> PendingCsr:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pub")]))
           .sign(key, hashes.SHA256()))
    return PendingCsr(node="pub", purpose="tomcat", csr=csr,
                      distribution=Distribution.THIS_SERVER, common_name="pub", sans=(),
                      key_type=KeyType.EC, key_length=256, hash="SHA256", nodes=("pub",),
                      created=NOW, key=key)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    with store.uow() as uow:
        uow.clusters.add(Cluster(name="lab", domain="uc.example"), [
            Node(hostname="pub", domain="uc.example", address="127.0.1.1",
                 role=Role.PUBLISHER, services=("tomcat",))])
        uow.commit()
    return store


def test_changes_are_private_until_commit(store: MemoryStore) -> None:
    with store.uow() as writer:
        writer.settings.put("k", b"v")
        # Another thread sees the old state only after the writer is done.
        seen: list[bytes | None] = []
        reader = threading.Thread(target=lambda: seen.append(_read(store)))
        reader.start()
        time.sleep(0.05)
        assert seen == []  # serialised: the reader waits for the writer
        writer.commit()
        reader.join(5)
    assert seen == [b"v"]


def _read(store: MemoryStore) -> bytes | None:
    with store.uow() as uow:
        return uow.settings.get("k")


def test_rollback_and_exit_without_commit_discard(store: MemoryStore) -> None:
    with store.uow() as uow:
        uow.csrs.put("lab", _csr())
        uow.rollback()
        assert uow.csrs.list("lab") == []
        uow.csrs.put("lab", _csr())
    assert _read(store) is None
    with store.uow() as uow:
        assert uow.csrs.get("lab", "pub", "tomcat") is None


def test_get_returns_the_key_list_does_not(store: MemoryStore) -> None:
    csr = _csr()
    with store.uow() as uow:
        assert uow.csrs.put("lab", csr) is False
        uow.commit()
    with store.uow() as uow:
        got = uow.csrs.get("lab", "PUB", "tomcat")
        assert got is not None and got.key is csr.key
        assert [c.key for c in uow.csrs.list("lab")] == [None]


def test_by_subject_matches_names_as_rfc5280_compares_them(store: MemoryStore) -> None:
    stored = _cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example  Root CA")]))
    with store.uow() as uow:
        uow.trust.add("lab", TrustEntry(node="pub", store="tomcat-trust", filename="r.pem",
                                        certificate=stored, description="", added=NOW))
        asked = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example root ca")])
        assert len(uow.trust.by_subject("lab", "pub", "tomcat-trust", asked)) == 1
        other = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Root CA 2")])
        assert uow.trust.by_subject("lab", "pub", "tomcat-trust", other) == []


def test_nested_unit_of_work_in_one_thread_is_refused(store: MemoryStore) -> None:
    with store.uow() as outer, store.uow() as inner:
        outer.settings.put("k", b"v")
        with pytest.raises(UccertsError) as err:
            inner.settings.get("k")
        assert err.value.code == "nested-unit-of-work"


def test_use_outside_with_is_refused(store: MemoryStore) -> None:
    with pytest.raises(UccertsError) as err:
        store.uow().settings.get("k")
    assert err.value.code == "uow-not-entered"
