"""One ``serve`` per home: an exclusive lock on ``<home>/serve.lock``, held for the
life of the process and released by the kernel however it ends (even SIGKILL)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from uccerts.errors import Refused

LOCK_NAME = "serve.lock"


class ServeLock:
    def __init__(self, home: Path) -> None:
        self.path = home / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise Refused(f"uccerts serve is already running for this home (pid {holder})",
                          code="serve-running",
                          fix="Use the running one, or stop it first (Ctrl-C or SIGTERM to "
                              "that pid)") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
