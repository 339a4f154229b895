"""One clock: the runtime's samples and the faces' "now" come from the clock handed
in (the context's), never from a ``datetime.now`` of their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from uccerts.bootstrap import build_from_uow
from uccerts.runtime.monitor import Monitor, PhoneState
from uccerts.services.clock import utc_now
from uccerts.storage.memory import MemoryStore

FIXED = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def test_monitor_samples_on_the_clock_it_is_given() -> None:
    monitor = Monitor(lambda: FIXED)
    monitor.moved("cucm-pub", None, PhoneState.REGISTERED)
    [sample] = monitor.history()
    assert sample["at"] == "2031-05-06T07:08:09Z"
    assert sample["by_state"]["REGISTERED"] == 1


def test_services_now_is_the_context_clock() -> None:
    services = build_from_uow(MemoryStore().uow)
    fixed = replace(services, ctx=replace(services.ctx, clock=lambda: FIXED))
    assert fixed.now() == FIXED
    assert fixed.acting_as("alice", "web").now() == FIXED


def test_utc_now_is_whole_seconds_in_utc() -> None:
    now = utc_now()
    assert now.tzinfo is dt.UTC and now.microsecond == 0
