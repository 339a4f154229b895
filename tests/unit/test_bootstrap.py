"""The composition root builds the use cases the faces use (the faces build none)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from uccerts.bootstrap import build_from_uow
from uccerts.config import Settings
from uccerts.errors import UsageError
from uccerts.services.drf import DrfService
from uccerts.storage.memory import MemoryStore

FIXED = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_drf_is_wired_and_follows_the_actor() -> None:
    services = build_from_uow(MemoryStore().uow)
    assert isinstance(services.drf, DrfService)
    acting = services.acting_as("alice", "web")
    assert acting.drf.ctx.actor == "alice"
    assert acting.drf.ctx.source == "web"


def test_lab_ca_and_serve_need_a_home() -> None:
    services = build_from_uow(MemoryStore().uow)
    with pytest.raises(UsageError) as err:
        services.lab_ca  # noqa: B018 - the property is the use case's factory
    assert err.value.code == "no-home"
    with pytest.raises(UsageError):
        services.serve()


def test_lab_ca_runs_on_the_context_clock(tmp_path: Path) -> None:
    services = build_from_uow(MemoryStore().uow)
    services = replace(services, ctx=replace(services.ctx, clock=lambda: FIXED),
                       settings=Settings(home=tmp_path, db_url="sqlite://"))
    acting = services.acting_as("bob", "cli")
    assert acting.settings is services.settings
    assert acting.lab_ca._clock() == FIXED
    assert acting.serve()._home == tmp_path
