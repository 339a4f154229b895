"""The serve process's store worker: one thread, calls in order, errors handed back."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from uccerts.errors import SystemFailure
from uccerts.runtime.ports import Database


def test_calls_run_in_order_on_one_thread_and_errors_come_back() -> None:
    async def main() -> None:
        db = Database()
        seen: list[tuple[int, str]] = []

        def record(n: int) -> int:
            seen.append((n, threading.current_thread().name))
            return n * 2

        results = await asyncio.gather(*(db.run(record, n) for n in range(20)))
        assert results == [n * 2 for n in range(20)]
        assert [n for n, _ in seen] == list(range(20))
        assert {name for _, name in seen} == {"uccerts-db"}

        def fail() -> None:
            raise SystemFailure("the store is gone", code="database-error")

        with pytest.raises(SystemFailure) as caught:
            await db.run(fail)
        assert caught.value.code == "database-error"
        assert await db.run(record, 7) == 14  # the worker survives an error
        db.close()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_close_without_waiting_does_not_wait_for_a_hung_call() -> None:
    release = threading.Event()

    async def main() -> None:
        db = Database()
        hung = asyncio.ensure_future(db.run(release.wait, 30))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        db.close(wait=False)
        assert time.monotonic() - started < 1
        hung.cancel()

    asyncio.run(asyncio.wait_for(main(), 10))
    release.set()
