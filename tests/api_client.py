"""Helpers for the native API tests: the app over a store, accounts, a recording fake
of the running cluster, and the app's context (for console sessions)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clusters import TOPOLOGY, KeyPool
from recording_control import RecordingControl
from uccerts.app import create_app
from uccerts.bootstrap import Services, build_from_uow
from uccerts.errors import UsageError
from uccerts.http.context import AppContext

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its test client with httpx2; httpx (the dev
    # dependency) still works.
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

NODE = "cucm-pub"
API = "/api/v1"
RW = ("api-admin", "api-rw-password")
RO = ("api-reader", "api-ro-password")
PROBLEM = "application/problem+json"


def cluster_services(store: Any) -> Services:
    """The demo cluster over ``store`` (an ``SqlStore``), with a read-write and a
    read-only account."""
    services = build_from_uow(store.uow, actor="tester", source="test", keygen=KeyPool(),
                              read=store.reader)
    services.clusters.init(TOPOLOGY)
    services.accounts.add(RW[0], "read-write", RW[1])
    services.accounts.add(RO[0], "read-only", RO[1])
    return services


@dataclass
class FakeControl(RecordingControl):
    """``ClusterControl`` that records each call and answers like ``serve`` would."""

    calls: list[tuple[str, dict[str, Any], str, str]] = field(default_factory=list)

    async def answer(self, op: str, args: dict[str, Any], on_event: Callable[[str], None]
                     ) -> Any:
        if op == "service.list":
            return [{"service": "Cisco Tomcat", "state": "STARTED", "port": 8443,
                     "ports": [8443], "certificate_sha256": "ab" * 32,
                     "installed_sha256": "ab" * 32, "restart_needed": False,
                     "warnings": []}]
        if op.startswith("service."):
            action, name = op.split(".", 1)[1], str(args["service"])
            for state in ("STOPPING", "STARTING", "STARTED"):
                on_event(f"{name}[{state}]")
            state = {"stop": "STOPPED", "deactivate": "NOT ACTIVATED"}.get(action, "STARTED")
            return {"service": name, "state": state, "port": 8443, "ports": [8443],
                    "certificate_sha256": None, "warnings": []}
        if op in ("phones.status", "phones.wait"):
            status = {"total": 2, "by_state": {"REGISTERED": 2, "UNREGISTERED": 0,
                                               "REJECTED": 0, "RESETTING": 0},
                      "by_node": {NODE: {"REGISTERED": 2}},
                      "phones": [{"mac": "SEP000000000001", "node": NODE,
                                  "state": "REGISTERED", "reason": ""}]}
            return status if op == "phones.status" else {"settled": True, "status": status}
        if op == "phones.history":
            return [{"at": "2026-01-01T00:00:00Z", "by_state": {"REGISTERED": 2}}]
        if op == "phones.reset":
            return {"reset": 2}
        if op == "phones.delete_itl":
            if not args.get("macs"):
                raise UsageError("Say which phones", code="phones-none-selected")
            return {"deleted": 2}
        raise UsageError(f"Unknown control operation {op}", code="control-unknown-op")

    def ops(self) -> list[str]:
        return [c[0] for c in self.calls]


def client_for(services: Services, control: Any = None, node: str = NODE) -> TestClient:
    return TestClient(create_app(services, node, control),
                      base_url=f"https://{node}.uc.example")


def app_context(client: TestClient) -> AppContext:
    """The context every face of the app shares (sessions live there)."""
    app: Any = client.app
    for _ in range(10):
        state = getattr(app, "state", None)
        if state is not None and hasattr(state, "ctx"):
            ctx: AppContext = state.ctx
            return ctx
        app = app.app
    raise AssertionError("no AppContext in the app")


def session_for(client: TestClient, user: str, role: str) -> str:
    """A console session for ``user`` set as the client's cookie; returns its CSRF token."""
    from uccerts.http.auth import SESSION_COOKIE

    token, session = app_context(client).sessions.create(user, role)
    client.cookies.set(SESSION_COOKIE, token)
    return session.csrf
