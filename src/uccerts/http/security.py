"""Sessions, CSRF tokens, login throttling and a cache of verified credentials.

Passwords are scrypt hashes (slow on purpose), so a script that sends HTTP Basic on
every request would pay ~50 ms each time: a verified (user, password) pair is kept,
as a SHA-256 of both under a per-process random key, for a minute. Sessions and
throttles live in memory: a restart of Cisco Tomcat logs everyone out, as on the
appliance.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

SESSION_IDLE_S = 30 * 60
CREDENTIAL_TTL_S = 60.0
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCKOUT_S = 5 * 60


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
    window, that pair is locked out for ``LOCKOUT_S`` (a success resets it)."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._locked: dict[tuple[str, str], float] = {}

    def retry_after(self, user: str, client: str) -> int:
        until = self._locked.get((user, client), 0.0)
        left = until - time.monotonic()
        return int(left) + 1 if left > 0 else 0

    def failed(self, user: str, client: str) -> None:
        key, now = (user, client), time.monotonic()
        recent = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW_S]
        recent.append(now)
        self._failures[key] = recent
        if len(recent) >= MAX_FAILURES:
            self._locked[key] = now + LOCKOUT_S
            self._failures[key] = []

    def succeeded(self, user: str, client: str) -> None:
        self._failures.pop((user, client), None)
        self._locked.pop((user, client), None)


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
