"""Sessions, CSRF tokens, login throttling and a cache of verified credentials.

Passwords are scrypt hashes (slow on purpose), so a script that sends HTTP Basic on
every request would pay ~50 ms each time: a verified (user, password) pair is kept,
as a SHA-256 of both under a per-process random key, for a minute. Sessions live in
the memory of a node's app. Login throttling and the bound on password checks
(``Logins``) live in ``serve``'s memory, shared by every node's app: a lockout holds
on every node and outlives a Tomcat restart (not a restart of ``serve``; keeping them
out of the store means failed logins cost an attacker no database writes).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from uccerts.errors import LoginsBusy, Throttled
from uccerts.runtime import memory

T = TypeVar("T")

SESSION_IDLE_S = 30 * 60
CREDENTIAL_TTL_S = 60.0
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCKOUT_S = 5 * 60
MAX_CHECKS = 4  # password checks at once (~16 MiB of scrypt memory each)
MAX_WAITING_CHECKS = 64  # more logins than this waiting for a check are refused
_BURST = 8  # checks after which, once none runs, memory is given back


@dataclass(frozen=True)
class Principal:
    username: str
    role: str  # "read-only" | "read-write"
    via: str  # "basic" | "session"

    @property
    def can_write(self) -> bool:
        return self.role == "read-write"


@dataclass
class Session:
    principal: Principal
    csrf: str
    last_seen: float


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def create(self, username: str, role: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(Principal(username, role, "session"), secrets.token_urlsafe(32),
                          time.monotonic())
        self._sessions[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._sessions.get(token)
        now = time.monotonic()
        if session is None or now - session.last_seen > SESSION_IDLE_S:
            self._sessions.pop(token, None)
            return None
        session.last_seen = now
        return session

    def drop(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    def drop_user(self, username: str) -> None:
        for token in [t for t, s in self._sessions.items()
                      if s.principal.username == username]:
            del self._sessions[token]


def csrf_ok(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf, presented or "")


class Throttle:
    """Failed logins per (user, client address): after ``MAX_FAILURES`` within the
    window, that pair is locked out for ``LOCKOUT_S`` (a success resets it).

    An attempt is reserved before its password is checked and counts against the
    budget while in flight, so concurrent wrong passwords cannot all be checked
    before the first failure is recorded. One throttle serves every node of a
    ``serve`` (``uccerts.launcher``): a lockout on one node's Tomcat holds on all.
    The lock makes each step atomic whatever thread or event loop calls it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._locked: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], int] = {}

    def retry_after(self, user: str, client: str) -> int:
        with self._lock:
            return self._retry_after((user, client), time.monotonic())

    def _retry_after(self, key: tuple[str, str], now: float) -> int:
        left = self._locked.get(key, 0.0) - now
        if left > 0:
            return int(left) + 1
        self._locked.pop(key, None)
        return 0

    def reserve(self, user: str, client: str) -> bool:
        """Take one of the attempts left before a lockout. ``False``: every attempt
        left is being checked now (ask again once one has its verdict). Raises
        ``Throttled`` while the pair is locked out."""
        key, now = (user, client), time.monotonic()
        with self._lock:
            wait = self._retry_after(key, now)
            if wait:
                raise Throttled(wait)
            recent = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW_S]
            self._failures[key] = recent
            pending = self._pending.get(key, 0)
            if len(recent) + pending >= MAX_FAILURES:
                return False
            self._pending[key] = pending + 1
            return True

    def release(self, user: str, client: str) -> None:
        """Give back a reserved attempt that checked no password."""
        with self._lock:
            self._unreserve((user, client))

    def _unreserve(self, key: tuple[str, str]) -> None:
        left = self._pending.get(key, 0) - 1
        if left > 0:
            self._pending[key] = left
        else:
            self._pending.pop(key, None)

    def failed(self, user: str, client: str) -> None:
        """A reserved attempt's password was wrong."""
        key, now = (user, client), time.monotonic()
        with self._lock:
            self._unreserve(key)
            recent = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW_S]
            recent.append(now)
            self._failures[key] = recent
            if len(recent) >= MAX_FAILURES:
                self._locked[key] = now + LOCKOUT_S
                self._failures[key] = []

    def succeeded(self, user: str, client: str) -> None:
        """A reserved attempt's password was right."""
        key = (user, client)
        with self._lock:
            self._unreserve(key)
            self._failures.pop(key, None)
            self._locked.pop(key, None)


class PasswordChecks:
    """Password checks run here, at most ``limit`` at once (scrypt takes ~16 MiB
    each: an unauthenticated burst must not grow the process without bound), with
    at most ``queue`` more waiting; beyond that a login is refused at once
    (``LoginsBusy``, HTTP 429) rather than queued. Shared like the throttle."""

    def __init__(self, limit: int = MAX_CHECKS, queue: int = MAX_WAITING_CHECKS) -> None:
        self.limit, self.queue = limit, queue
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix="uccerts-password")
        self._lock = threading.Lock()
        self._outstanding = self._since_trim = 0

    async def run(self, check: Callable[[str, str], T], user: str, password: str) -> T:
        with self._lock:
            if self._outstanding >= self.limit + self.queue:
                raise LoginsBusy(1)
            self._outstanding += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, check, user, password)
        finally:
            with self._lock:
                self._outstanding -= 1
                self._since_trim += 1
                idle_after_burst = self._outstanding == 0 and self._since_trim >= _BURST
                if idle_after_burst:
                    self._since_trim = 0
            if idle_after_burst:
                # scrypt's 16 MiB blocks end up on the heap once glibc has raised its
                # mmap threshold: give them back when a burst is over.
                memory.give_back()


@dataclass
class Logins:
    """What every node's app of one ``serve`` shares to check logins."""

    throttle: Throttle = field(default_factory=Throttle)
    checks: PasswordChecks = field(default_factory=PasswordChecks)


class CredentialCache:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, tuple[Principal, float]] = {}

    def _digest(self, user: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user}\x00{password}".encode(), hashlib.sha256).digest()

    def get(self, user: str, password: str) -> Principal | None:
        hit = self._verified.get(self._digest(user, password))
        if hit is None or time.monotonic() - hit[1] > CREDENTIAL_TTL_S:
            return None
        return hit[0]

    def put(self, user: str, password: str, principal: Principal) -> None:
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[self._digest(user, password)] = (principal, time.monotonic())

    def forget(self, user: str) -> None:
        self._verified = {k: v for k, v in self._verified.items() if v[0].username != user}
