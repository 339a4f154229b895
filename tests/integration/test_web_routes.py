"""Every console route, enumerated from the app: 401 (or the login page) without a
session, 403 for read-only accounts on every change, CSRF enforced on every POST;
login throttling, logout, the cookie's flags and the pages' headers."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tests.integration.web_console import (
    NODE,
    READER,
    READER_PW,
    WRITER,
    WRITER_PW,
    Console,
    FakeControl,
    cluster_services,
    console,
)
from uccerts.bootstrap import Services
from uccerts.http.context import AppContext
from uccerts.web.views import create_console

# POSTs that change nothing, which read-only accounts may send (CSRF still applies):
# the login itself, logout, the offline tools, and downloading a CSR.
READ_ONLY_POSTS = {"/login", "/logout", "/tools/decode", "/tools/match", "/tools/check",
                   "/csr/download"}
SAMPLE = {"node": NODE, "purpose": "tomcat", "store": "tomcat-trust", "job_id": "no-such-job"}


def flat(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The app's routes, through included routers (FastAPI resolves them lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        return list(routes)
    return [context.original_route for context in iter_route_contexts(routes)]


def console_routes() -> list[tuple[str, str, str]]:
    """(method, route path, concrete path) for every page route of the console."""
    app = create_console(AppContext(services=cluster_services(), node=NODE))
    out = []
    for route in flat(app.routes):
        if not isinstance(route, APIRoute):
            assert getattr(route, "path", "") == "/static"  # public files, nothing else
            continue
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], route.path)
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, route.path, concrete))
    return out


ROUTES = console_routes()
GETS = [r for r in ROUTES if r[0] == "GET"]
POSTS = [r for r in ROUTES if r[0] == "POST"]
CHANGES = [r for r in POSTS if r[1] not in READ_ONLY_POSTS]


def test_the_enumeration_covers_every_page() -> None:
    paths = {r[1] for r in ROUTES}
    for expected in ("/login", "/logout", "/certificates", "/certificates/{node}/{purpose}",
                     "/certificates/upload", "/csr/generate", "/csr/download",
                     "/control-center", "/enterprise-parameters", "/device-registration",
                     "/device-registration/status.json", "/audit", "/tools"):
        assert expected in paths
    assert {m for m, _, _ in ROUTES} == {"GET", "POST"}
    assert len(POSTS) >= 15
    assert {r[1] for r in POSTS} >= READ_ONLY_POSTS


@pytest.fixture(scope="module")
def services() -> Services:
    return cluster_services()


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
def anonymous(services: Services, control: FakeControl) -> Iterator[Console]:
    with console(services, control) as (client, _):
        yield client


@pytest.fixture
def writer(services: Services, control: FakeControl) -> Iterator[Console]:
    with console(services, control) as (client, _):
        assert client.login(WRITER, WRITER_PW).status_code == 303
        yield client


@pytest.fixture
def reader(services: Services, control: FakeControl) -> Iterator[Console]:
    with console(services, control) as (client, _):
        assert client.login(READER, READER_PW).status_code == 303
        yield client


def audit_size(services: Services) -> int:
    return len(services.audit.entries(10_000))


@pytest.mark.parametrize(("method", "route", "path"), GETS, ids=[r[1] for r in GETS])
def test_get_without_a_session_goes_to_the_login_page(anonymous: Console, method: str,
                                                      route: str, path: str) -> None:
    response = anonymous.get(path)
    if route == "/login":
        assert response.status_code == 200
    elif route.endswith(".json"):
        assert response.status_code == 401
        assert response.json()["message"] == "Authentication is required"
    else:
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F")


@pytest.mark.parametrize(("method", "route", "path"), POSTS, ids=[r[1] for r in POSTS])
def test_post_without_a_session_is_401(anonymous: Console, services: Services,
                                       control: FakeControl, method: str, route: str,
                                       path: str) -> None:
    before = audit_size(services)
    response = anonymous.post(path, {"node": NODE, "purpose": "tomcat"}, csrf="forged")
    if route == "/login":  # no login form was fetched: its token cannot match
        assert response.status_code == 403
    else:
        assert response.status_code == 401, path
        assert "Authentication is required" in response.text
    assert audit_size(services) == before and control.calls == []


@pytest.mark.parametrize(("method", "route", "path"), CHANGES, ids=[r[1] for r in CHANGES])
def test_read_only_accounts_get_403_on_every_change(reader: Console, services: Services,
                                                    control: FakeControl, method: str,
                                                    route: str, path: str) -> None:
    before = audit_size(services)
    response = reader.post(path, {"node": NODE, "purpose": "tomcat", "file": "x.pem",
                                  "service": "Cisco Tomcat", "action": "restart",
                                  "mode": "mixed"})
    assert response.status_code == 403, path
    assert f"{READER} is read-only" in response.text
    assert audit_size(services) == before
    assert [op for op in control.ops() if op != "service.list"] == []


def test_read_only_posts_change_nothing(reader: Console, services: Services,
                                        control: FakeControl) -> None:
    before = audit_size(services)
    for path in sorted(READ_ONLY_POSTS - {"/login", "/logout"}):
        response = reader.post(path, {"node": NODE, "purpose": "tomcat"})
        assert response.status_code in (200, 400, 404), (path, response.status_code)
    assert audit_size(services) == before and control.calls == []


@pytest.mark.parametrize(("method", "route", "path"), POSTS, ids=[r[1] for r in POSTS])
def test_csrf_missing_or_wrong_is_403(writer: Console, services: Services,
                                      control: FakeControl, method: str, route: str,
                                      path: str) -> None:
    before = audit_size(services)
    data = {"node": NODE, "purpose": "tomcat", "service": "Cisco Tomcat",
            "action": "restart", "mode": "mixed", "username": WRITER, "password": WRITER_PW}
    for token in ("", "wrong-" + writer.token):
        response = writer.client.post(path, data={**data, "csrf_token": token} if token
                                      else data, follow_redirects=False)
        assert response.status_code == 403, (path, token)
    assert audit_size(services) == before and control.calls == []


def test_a_csrf_token_belongs_to_its_session(services: Services, control: FakeControl
                                             ) -> None:
    with console(services, control) as (first, _), console(services, control) as (second, _):
        first.login(WRITER, WRITER_PW)
        second.login(WRITER, WRITER_PW)
        assert first.token != second.token
        response = second.post("/enterprise-parameters/sso", {"action": "enable"},
                               csrf=first.token)
        assert response.status_code == 403
        assert "CSRF check failed" in response.text


def test_login_is_throttled_after_five_failures(services: Services) -> None:
    with console(services) as (client, _):
        for _ in range(5):
            failed = client.login(WRITER, "not-the-password")
            assert failed.status_code == 401
            assert "The user name or password is wrong" in failed.text
        throttled = client.login(WRITER, WRITER_PW)  # even the right password now
        assert throttled.status_code == 429
        assert re.search(r"Too many failed logins: try again in \d+ s", throttled.text)
        assert int(throttled.headers["retry-after"]) > 0
        assert client.get("/certificates").status_code == 303
        # Another account from the same client is not locked out.
        assert client.login(READER, READER_PW).status_code == 303


def test_logout_invalidates_the_session(writer: Console) -> None:
    cookie = writer.client.cookies.get("uccerts_session")
    assert cookie
    token = writer.token
    with_old = {"Cookie": f"uccerts_session={cookie}"}
    assert writer.get("/certificates").status_code == 200
    response = writer.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "uccerts_session" not in writer.client.cookies
    old = writer.client.get("/certificates", headers=with_old, follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"].startswith("/login")
    replay = writer.client.post("/enterprise-parameters/sso",
                                data={"action": "enable", "csrf_token": token},
                                headers=with_old, follow_redirects=False)
    assert replay.status_code == 401


def test_session_cookie_flags_and_a_new_token_per_login(services: Services) -> None:
    with console(services) as (client, _):
        client.get("/login")
        first = client.post("/login", {"username": WRITER, "password": WRITER_PW})
        cookie = first.headers["set-cookie"]
        assert "uccerts_session=" in cookie
        for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
            assert flag.lower() in cookie.lower()
        old = client.client.cookies.get("uccerts_session")
        assert client.get("/login").status_code == 303  # logged in: straight on
        client.client.cookies.clear()
        client.get("/login")
        client.post("/login", {"username": WRITER, "password": WRITER_PW})
        new = client.client.cookies.get("uccerts_session")
        assert new and new != old


def test_login_redirects_only_inside_the_console(services: Services) -> None:
    with console(services) as (client, _):
        for target, expected in (("/audit", "/audit"), ("//evil.example/x", "/certificates"),
                                 ("https://evil.example/", "/certificates"),
                                 ("/\\evil.example", "/certificates")):
            client.client.cookies.clear()
            client.get("/login")
            response = client.post("/login", {"username": WRITER, "password": WRITER_PW,
                                              "next": target})
            assert response.headers["location"] == expected, target


def test_pages_carry_security_headers(writer: Console) -> None:
    page = writer.get("/certificates")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # no inline script: CSP allows none


def test_static_files_are_public(anonymous: Console) -> None:
    assert anonymous.get("/static/console.css").status_code == 200
    assert anonymous.get("/static/console.js").status_code == 200
