"""Login throttling under concurrency (issue 10 item 1): wrong passwords sent at once
are not all checked, a lockout holds on every node of a serve, and password checks
(scrypt, ~16 MiB each) run a bounded few at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from api_client import API, RO, RW, FakeControl, TestClient, cluster_services
from uccerts.bootstrap import Services
from uccerts.errors import LoginsBusy, Throttled, Unauthorized
from uccerts.http.auth import login
from uccerts.http.context import AppContext
from uccerts.http.security import MAX_CHECKS, MAX_FAILURES, PasswordChecks


@pytest.fixture
def svc(sql_store: Any) -> Services:
    return cluster_services(sql_store)


class Counting:
    """Wraps ``accounts.authenticate``: how many checks ran, and how many at most at
    once."""

    def __init__(self, services: Services, delay: float = 0.0) -> None:
        self._real = services.accounts.authenticate
        self._delay = delay
        self._lock = threading.Lock()
        self.calls = self.running = self.most = 0
        services.accounts.authenticate = self  # type: ignore[method-assign]

    def __call__(self, user: str, password: str) -> Any:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self._delay)
            return self._real(user, password)
        finally:
            with self._lock:
                self.running -= 1


async def _attempts(ctx: AppContext, creds: list[tuple[str, str]]) -> list[Any]:
    return await asyncio.gather(*(login(ctx, user, pw, "192.0.2.7") for user, pw in creds),
                                return_exceptions=True)


def test_concurrent_wrong_passwords_are_not_all_checked(svc: Services) -> None:
    counting = Counting(svc)
    ctx = AppContext(services=svc, node="cucm-pub")
    outcomes = asyncio.run(_attempts(ctx, [(RO[0], "wrong-password")] * 50))
    assert counting.calls <= MAX_FAILURES, counting.calls
    assert sum(isinstance(o, Unauthorized) for o in outcomes) == counting.calls
    assert sum(isinstance(o, Throttled) for o in outcomes) == 50 - counting.calls
    with pytest.raises(Throttled):  # and the right password is locked out too
        asyncio.run(login(ctx, RO[0], RO[1], "192.0.2.7"))


def test_concurrent_right_passwords_all_log_in(svc: Services) -> None:
    ctx = AppContext(services=svc, node="cucm-pub")
    outcomes = asyncio.run(_attempts(ctx, [RW] * 20))
    assert all(getattr(o, "username", None) == RW[0] for o in outcomes), outcomes


def test_password_checks_run_a_bounded_few_at_a_time(svc: Services) -> None:
    for n in range(30):
        svc.accounts.add(f"user{n}", "read-only", f"password-{n}")
    counting = Counting(svc, delay=0.05)
    ctx = AppContext(services=svc, node="cucm-pub")
    creds = [(f"user{n}", f"password-{n}") for n in range(30)]
    outcomes = asyncio.run(_attempts(ctx, creds))
    assert [getattr(o, "username", o) for o in outcomes] == [u for u, _ in creds]
    assert counting.calls == 30
    assert counting.most <= MAX_CHECKS, counting.most


def test_logins_beyond_the_waiting_room_are_refused_at_once() -> None:
    release = threading.Event()

    def slow(user: str, password: str) -> str:
        release.wait(5)
        return user

    async def burst() -> list[Any]:
        checks = PasswordChecks(limit=1, queue=1)
        tasks = [asyncio.ensure_future(checks.run(slow, f"u{n}", "pw")) for n in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(LoginsBusy) as refused:
            await checks.run(slow, "u3", "pw")
        assert refused.value.retry_after >= 1 and refused.value.code == "too-many-logins"
        release.set()
        return await asyncio.gather(*tasks)

    assert asyncio.run(burst()) == ["u0", "u1"]


def test_a_lockout_on_one_nodes_app_holds_on_the_others(svc: Services) -> None:
    from uccerts.launcher import NodeApps

    apps = NodeApps()
    control: Any = FakeControl()
    settings: Any = None
    pub = TestClient(apps(svc, "cucm-pub", control, settings),
                     base_url="https://cucm-pub.uc.example")
    sub = TestClient(apps(svc, "cucm-sub1", control, settings),
                     base_url="https://cucm-sub1.uc.example")
    with pub, sub:
        for _ in range(MAX_FAILURES):
            assert pub.get(f"{API}/ping", auth=(RO[0], "wrong-password")).status_code == 401
        locked = sub.get(f"{API}/ping", auth=RO)
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["retry-after"]) > 0
        assert sub.get(f"{API}/ping", auth=RW).status_code == 200
