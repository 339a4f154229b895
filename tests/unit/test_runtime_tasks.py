"""Stopping tasks that swallow a cancellation (as 3.11's wait_for can make them)."""

from __future__ import annotations

import asyncio
import contextlib

from uccerts.runtime.tasks import cancel_all


def test_a_task_that_swallows_the_first_cancellation_still_ends() -> None:
    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # as a racing wait_for can
            await asyncio.sleep(30)
        await asyncio.get_running_loop().create_future()  # never resolved

    async def main() -> None:
        tasks = [asyncio.ensure_future(stubborn()) for _ in range(3)]
        plain = asyncio.ensure_future(asyncio.sleep(30))
        await asyncio.sleep(0)
        await cancel_all([*tasks, plain])
        assert all(t.done() for t in [*tasks, plain])
        assert plain.cancelled()

    asyncio.run(asyncio.wait_for(main(), 10))
