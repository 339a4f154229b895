"""The audit trail, settings, platform accounts and API tokens over SQLAlchemy Core."""

from __future__ import annotations

import builtins
import datetime as dt

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from uccerts.domain.model import ApiToken, AuditEntry
from uccerts.errors import Refused
from uccerts.storage import tables as t
from uccerts.storage.sql_tx import Tx


class SqlAuditRepo:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, entry: AuditEntry) -> None:
        self._tx.execute(t.audit.insert().values(**t.audit_values(entry)))

    def list(self, cluster: str | None = None, limit: int = 100) -> builtins.list[AuditEntry]:
        stmt = select(t.audit).order_by(t.audit.c.at.desc(), t.audit.c.id.desc()).limit(limit)
        if cluster is not None:
            # Entries of no cluster (accounts, which every cluster shares) belong to all.
            stmt = stmt.where(t.audit.c.cluster.in_((cluster, "")))
        return [t.audit_from_row(r) for r in self._tx.execute(stmt)]


class SqlSettingsRepo:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def get(self, key: str) -> bytes | None:
        value = self._tx.execute(select(t.settings.c.value)
                                 .where(t.settings.c.key == key)).scalar()
        return bytes(value) if value is not None else None

    def put(self, key: str, value: bytes) -> None:
        # An upsert, not update-else-insert: settings have no node row to lock.
        dialect = postgresql if self._tx.is_postgresql else sqlite
        stmt = dialect.insert(t.settings).values(key=key, value=value)
        self._tx.execute(stmt.on_conflict_do_update(index_elements=[t.settings.c.key],
                                                    set_={"value": value}))


class SqlAccountRepo:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, username: str, role: str, password_hash: str, *,
            created: dt.datetime) -> None:
        self._tx.execute(
            t.accounts.insert().values(username=username, role=role,
                                       password_hash=password_hash, created=created),
            conflict=Refused(f"Account {username} already exists", code="account-exists"))

    def get(self, username: str) -> tuple[str, str] | None:
        row = self._tx.execute(select(t.accounts.c.role, t.accounts.c.password_hash)
                               .where(t.accounts.c.username == username)).first()
        return (row.role, row.password_hash) if row else None

    def list(self) -> builtins.list[tuple[str, str]]:
        rows = self._tx.execute(select(t.accounts.c.username, t.accounts.c.role)
                                .order_by(t.accounts.c.username))
        return [(r.username, r.role) for r in rows]

    def set_password(self, username: str, password_hash: str) -> bool:
        done = self._tx.execute(t.accounts.update().where(t.accounts.c.username == username)
                                .values(password_hash=password_hash))
        return bool(done.rowcount)

    def remove(self, username: str) -> bool:
        done = self._tx.execute(t.accounts.delete()
                                .where(t.accounts.c.username == username))
        return bool(done.rowcount)


class SqlApiTokenRepo:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, token: ApiToken) -> None:
        self._tx.execute(t.api_tokens.insert().values(**t.token_values(token)),
                         conflict=Refused("This token is already stored", code="token-exists"))

    def get(self, sha256: str) -> ApiToken | None:
        row = self._tx.execute(select(t.api_tokens)
                               .where(t.api_tokens.c.sha256 == sha256)).first()
        return t.token_from_row(row) if row else None

    def revoke(self, sha256: str) -> bool:
        done = self._tx.execute(t.api_tokens.update().where(t.api_tokens.c.sha256 == sha256)
                                .values(revoked=True))
        return done.rowcount > 0
