"""Ending tasks for certain.

On Python 3.11 ``asyncio.wait_for`` can swallow a cancellation that arrives just as
the awaited operation completes (fixed in 3.12): the cancelled task then carries on
and may settle into an await that never returns, and a plain ``gather`` of cancelled
tasks waits for it forever. So cancellation is repeated until the tasks have ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

ROUNDS = 5
WAIT_S = 1.0


async def cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    pending = {t for t in tasks if not t.done()}
    for _ in range(ROUNDS):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=WAIT_S)
