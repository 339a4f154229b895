"""Giving memory back to the system after a burst of connections.

Each TLS connection holds buffers of a few hundred KiB (asyncio's SSL buffer alone is
256 KiB). glibc raises its mmap threshold as such blocks are freed, so after a flood
the later ones live on the heap, and a heap freed in the middle is kept by the
process: ``serve`` stayed at its peak long after a flood left. ``malloc_trim``
returns the free pages; elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_looked = False


def give_back() -> bool:
    """Return the heap's free pages to the system; False when the C library cannot."""
    global _trim, _looked
    if not _looked:
        _looked = True
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _trim = libc.malloc_trim
        except (OSError, AttributeError):
            _trim = None
    if _trim is None:
        return False
    _trim(0)
    return True
