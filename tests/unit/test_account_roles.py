"""Account roles are an enum (stored as the strings "read-only" and "read-write")."""

from __future__ import annotations

import pytest

from uccerts.errors import UsageError
from uccerts.services.accounts import AccountRole, AccountService
from uccerts.services.context import Context
from uccerts.storage.memory import MemoryStore


def test_roles_come_back_as_the_enum_and_are_stored_as_their_strings() -> None:
    store = MemoryStore()
    accounts = AccountService(Context(store.uow))
    added = accounts.add("ops", "read-only", "long enough")
    assert added.role is AccountRole.READ_ONLY and not added.can_write
    writer = accounts.add("root", "read-write", "long enough")
    assert writer.role is AccountRole.READ_WRITE and writer.can_write
    got = accounts.get("ops")
    assert got is not None and got.role is AccountRole.READ_ONLY
    assert {a.username: a.role for a in accounts.list()} == {
        "ops": AccountRole.READ_ONLY, "root": AccountRole.READ_WRITE}
    with store.uow() as uow:
        found = uow.accounts.get("root")
    assert found is not None and found[0] == "read-write"
    with pytest.raises(UsageError) as err:
        accounts.add("x", "admin", "long enough")
    assert err.value.code == "invalid-role"
