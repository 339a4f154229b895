"""Fixtures for tests against real databases (and the in-memory fake, to keep it honest).

``sql_store``
    A migrated, empty ``SqlStore`` per test, parametrised over the databases at hand:
    SQLite always (a fresh file under ``tmp_path``), PostgreSQL when
    ``UCCERTS_TEST_PG_URL`` is set (e.g. ``postgresql+psycopg://postgres@localhost/test``).
    On PostgreSQL every test gets its own schema (``search_path`` set through the
    connection options) that is dropped afterwards, so tests run in parallel under
    pytest-xdist. Engines are disposed at teardown.
``any_store``
    The same, plus ``MemoryStore`` first: for contract tests the fake must pass too.
``sql_db``
    The ``Database`` (URL, backend name, engine) behind ``sql_store``, for tests
    that need raw SQL, a second engine on the same data, or the SQLite file.
``sealer``
    The ``Sealer`` of ``sql_store`` (a random master key per test).
``certs``
    ``CertFactory``: real EC keys, CA and leaf certificates and CSRs, made per test.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from databases import PG_URL, Database, open_database
from uccerts.domain.keys import PrivateKey
from uccerts.storage.memory import MemoryStore
from uccerts.storage.ports import UnitOfWork
from uccerts.storage.secrets import Sealer
from uccerts.storage.sql import SqlStore

_NO_PG = pytest.mark.skipif(not PG_URL, reason="UCCERTS_TEST_PG_URL is not set")
SQL_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, _NO_PG]),
]


@pytest.fixture(params=SQL_BACKENDS)
def sql_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with open_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(os.urandom(32))


@pytest.fixture
def sql_store(sql_db: Database, sealer: Sealer) -> SqlStore:
    return SqlStore(sql_db.engine, sealer)


class AnyStore:
    """What ``any_store`` yields: ``uow()`` of either kind, and which kind it is."""

    def __init__(self, store: SqlStore | MemoryStore, backend: str) -> None:
        self.store, self.backend = store, backend

    def uow(self) -> UnitOfWork:
        return self.store.uow()


@pytest.fixture(params=[pytest.param("memory", id="memory"), *SQL_BACKENDS])
def any_store(request: pytest.FixtureRequest, tmp_path: Path, sealer: Sealer
              ) -> Iterator[AnyStore]:
    if request.param == "memory":
        yield AnyStore(MemoryStore(), "memory")
        return
    with open_database(request.param, tmp_path) as db:
        yield AnyStore(SqlStore(db.engine, sealer), db.backend)


# ------------------------------------------------------------------ certificates

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(cn: str, org: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


@dataclass
class Issued:
    cert: x509.Certificate
    key: PrivateKey


class CertFactory:
    """Small real PKI material; EC P-256 throughout because it is fast to make."""

    def key(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def certificate(self, cn: str, *, issuer: Issued | None = None, ca: bool = False,
                    subject: x509.Name | None = None, key: PrivateKey | None = None,
                    not_before: dt.datetime | None = None, serial: int | None = None
                    ) -> Issued:
        key = key or self.key()
        name = subject or _name(cn, "uccerts tests")
        start = not_before or NOW - dt.timedelta(days=1)
        builder = (x509.CertificateBuilder()
                   .subject_name(name)
                   .issuer_name(issuer.cert.subject if issuer else name)
                   .public_key(key.public_key())
                   .serial_number(serial or x509.random_serial_number())
                   .not_valid_before(start)
                   .not_valid_after(start + dt.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                  critical=True))
        signer = issuer.key if issuer else key
        return Issued(builder.sign(signer, hashes.SHA256()), key)

    def ca(self, cn: str) -> Issued:
        return self.certificate(cn, ca=True)

    def csr(self, cn: str, sans: list[str], key: PrivateKey | None = None
            ) -> tuple[x509.CertificateSigningRequest, PrivateKey]:
        key = key or self.key()
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(_name(cn))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]),
                              critical=False)
               .sign(key, hashes.SHA256()))
        return csr, key


@pytest.fixture
def certs() -> CertFactory:
    return CertFactory()
