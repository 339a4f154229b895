"""The one wall clock of uccerts. Use cases read time through ``Context.clock`` (or a
clock handed in), so that tests fix it and no layer reads ``datetime.now`` on its own.

Kept apart from ``context`` because the offline tools (``uccerts decode``, ``check``)
need a clock at start-up without importing the storage ports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """Now in UTC, to the second (what the store keeps and the faces show)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)

