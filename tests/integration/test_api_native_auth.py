"""Every route of /api/v1, enumerated from the app: 401 without credentials, 403 for a
read-only account on every change, CSRF for console sessions, 413 over 1 MiB, and
malformed or unexpected JSON answered 4xx (never 5xx) as problem+json."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import Route

from api_client import (
    API,
    NODE,
    PROBLEM,
    RO,
    RW,
    FakeControl,
    TestClient,
    client_for,
    cluster_services,
    session_for,
)
from uccerts.api.native import create_native
from uccerts.bootstrap import Services
from uccerts.http.context import AppContext

# Changes a read-only account may make: the offline tools change nothing, and a token
# carries its account's role.
READ_ONLY_MAY = {("POST", "/tools/decode"), ("POST", "/tools/match"),
                 ("POST", "/tools/check"), ("POST", "/auth/tokens"),
                 ("DELETE", "/auth/tokens/current")}
SAMPLES = {"node": NODE, "purpose": "tomcat", "filename": "tomcat.pem",
           "service": "Cisco%20CallManager", "action": "restart", "user": RO[0]}


@pytest.fixture
def svc(sql_store: Any) -> Services:
    return cluster_services(sql_store)


@pytest.fixture
def client(svc: Services) -> Iterator[TestClient]:
    with client_for(svc, FakeControl()) as client:
        yield client


def _routes(routes: list[Any]) -> Iterator[Route]:
    for route in routes:
        # FastAPI keeps an included router as one entry holding the router's routes
        # (the API includes its routers without a prefix).
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        else:
            assert isinstance(route, Route)
            yield route


def operations(svc: Services) -> list[tuple[str, str]]:
    """(method, path template) of every route of the native app."""
    app = create_native(AppContext(services=svc, node=NODE))
    ops = [(method, route.path) for route in _routes(app.routes)
           for method in sorted(route.methods or ()) if method != "HEAD"]
    documented = {(m.upper(), p) for p, item in app.openapi()["paths"].items() for m in item}
    assert documented == {op for op in ops if "/docs" not in op[1] and "openapi" not in op[1]}
    return ops


def url(template: str) -> str:
    return API + re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], template)


def changes(svc: Services) -> list[tuple[str, str]]:
    return [(m, p) for m, p in operations(svc) if m not in ("GET", "HEAD", "OPTIONS")]


def json_bodies(client: TestClient) -> list[tuple[str, str]]:
    schema = client.get(f"{API}/openapi.json", auth=RW).json()
    return [(method.upper(), path) for path, item in schema["paths"].items()
            for method, op in item.items()
            if "application/json" in op.get("requestBody", {}).get("content", {})]


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"] == PROBLEM, response.request.url
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status and doc["type"].startswith("urn:uccerts:error:")
    if code is not None:
        assert doc["code"] == code, (response.request.url, doc)
    return doc


def test_the_enumeration_covers_the_api(svc: Services) -> None:
    ops = operations(svc)
    assert len(ops) >= 35
    assert ("GET", "/openapi.json") in ops and ("GET", "/docs") in ops
    assert set(ops) >= READ_ONLY_MAY
    assert ("POST", "/nodes/{node}/services/{service}/{action}") in ops


def test_every_route_needs_credentials(client: TestClient, svc: Services) -> None:
    for method, template in operations(svc):
        response = client.request(method, url(template))
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == 'Basic realm="uccerts"'
    for header in ("Basic !!!", "Basic " + "dXNlcg==", "Digest abc", "Bearer"):
        assert_problem(client.get(f"{API}/ping", headers={"Authorization": header}), 401)


def test_wrong_passwords_are_refused_then_throttled(client: TestClient) -> None:
    for _ in range(5):
        assert_problem(client.get(f"{API}/ping", auth=(RO[0], "wrong-password")), 401,
                       "bad-credentials")
    locked = client.get(f"{API}/ping", auth=RO)  # even the right password, for a while
    assert_problem(locked, 429, "too-many-failures")
    assert int(locked.headers["retry-after"]) > 0
    assert client.get(f"{API}/ping", auth=RW).status_code == 200  # others are not locked


def test_a_read_only_account_reads_but_changes_nothing(client: TestClient, svc: Services
                                                       ) -> None:
    for method, template in changes(svc):
        response = client.request(method, url(template), auth=RO)
        if (method, template) in READ_ONLY_MAY:
            assert response.status_code != 403, (method, template, response.text)
        else:
            assert_problem(response, 403, "read-only")
    assert_problem(client.get(f"{API}/accounts", auth=RO), 403, "read-only")
    for method, template in operations(svc):
        if method == "GET" and "/accounts" not in template and "download" not in template:
            assert client.get(url(template), auth=RO).status_code < 500


def test_console_sessions_need_the_csrf_token_for_changes(client: TestClient, svc: Services
                                                          ) -> None:
    csrf = session_for(client, RW[0], "read-write")
    assert client.get(f"{API}/ping").json()["user"] == RW[0]  # reads need no token
    for method, template in changes(svc):
        assert_problem(client.request(method, url(template)), 403, "csrf-failed")
        assert_problem(client.request(method, url(template),
                                      headers={"X-CSRF-Token": "not-it"}), 403, "csrf-failed")
    done = client.put(f"{API}/cluster/sso", json={"enabled": True},
                      headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    entries = client.get(f"{API}/audit").json()
    assert (entries[0]["action"], entries[0]["actor"], entries[0]["source"]) == (
        "sso", RW[0], "api")
    ro_csrf = session_for(client, RO[0], "read-only")
    assert_problem(client.put(f"{API}/cluster/sso", json={"enabled": False},
                              headers={"X-CSRF-Token": ro_csrf}), 403, "read-only")


def test_bodies_over_one_mebibyte_are_refused_with_413(client: TestClient) -> None:
    big = b"-----BEGIN CERTIFICATE-----\n" + b"A" * (1024 * 1024)
    for path in (f"/nodes/{NODE}/certificates/tomcat-trust", "/tools/decode"):
        response = client.post(API + path, content=big, auth=RW,
                               headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert "1 MiB" in response.json()["message"]
    files = client.post(f"{API}/nodes/{NODE}/certificates/tomcat-trust", auth=RW,
                        files={"file": ("big.pem", big)})
    assert files.status_code == 413


@pytest.mark.parametrize("body", [b'{"pem": ', b"\xff\xfe", b"{'single': 1}", b"[1,]"])
def test_malformed_json_is_a_400_problem_on_every_route(client: TestClient, body: bytes
                                                        ) -> None:
    for method, template in json_bodies(client):
        response = client.request(method, url(template), content=body, auth=RW,
                                  headers={"content-type": "application/json"})
        assert_problem(response, 400)


@pytest.mark.parametrize("doc", [{"unexpected": 1}, [], "text", 7, {"pem": 7},
                                 {"purpose": None, "macs": "x", "enabled": "maybe"}])
def test_unexpected_json_is_a_4xx_problem_on_every_route(client: TestClient, doc: Any
                                                         ) -> None:
    for method, template in json_bodies(client):
        response = client.request(method, url(template), json=doc, auth=RW)
        assert 400 <= response.status_code < 500, (method, template, response.text)
        assert response.headers["content-type"] == PROBLEM


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/no/such/route", auth=RW), 404, "not-found")
    wrong = client.patch(f"{API}/cluster", auth=RW)
    assert_problem(wrong, 405, "method-not-allowed")
    assert "GET" in wrong.headers["allow"]
