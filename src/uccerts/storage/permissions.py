"""The home and the database files are private to the account that runs uccerts.

The database holds password and token hashes and the audit trail; the home holds the
master key and the lab CA's keys. New ones are created 0700 (folders) and 0600
(files). Ones found wider (made by an older uccerts, or by hand) are not changed
behind the operator's back: uccerts says so on stderr, once per path and process,
with the command that fixes it.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

_warned: set[Path] = set()


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if it does not exist (SQLite then gives its
    -wal and -shm files the same mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def sqlite_files(db: Path) -> list[Path]:
    return [db, *(db.with_name(db.name + suffix) for suffix in SQLITE_SIDE_FILES)]


def too_open(paths: Iterable[Path]) -> list[tuple[Path, int]]:
    """(path, mode) of each existing path that others (group or world) may use."""
    found = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append((path, mode))
    return found


def warn_if_open(paths: Iterable[Path], out: TextIO | None = None) -> None:
    """One line on stderr per path open to others, the first time it is seen."""
    if os.name != "posix":
        return
    for path, mode in too_open(paths):
        if path in _warned:
            continue
        _warned.add(path)
        fix = f"chmod {PRIVATE_DIR if path.is_dir() else PRIVATE_FILE:o} {path}"
        print(f"Warning: {path} is open to other users (mode {mode:04o}); it holds "
              f"secrets (password hashes, keys, the audit trail). Run: {fix}",
              file=out or sys.stderr)


def home_paths(home: Path, db: Path | None) -> list[Path]:
    """What ``warn_if_open`` checks: the home, the master key, the CA folder and its
    files, and the SQLite database with its side files."""
    paths = [home, home / "master.key"]
    ca = home / "ca"
    if ca.is_dir():
        paths += [ca, *sorted(p for p in ca.rglob("*") if p.is_file() or p.is_dir())]
    if db is not None:
        paths += sqlite_files(db)
    return paths
