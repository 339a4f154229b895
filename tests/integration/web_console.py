"""What the web console's integration tests share: a cluster in memory with fast keys,
accounts of both roles, a fake running cluster, and a logged-in browser-like client.

The console is driven through ``create_app`` (the app a node's Cisco Tomcat serves)
with Starlette's TestClient over ``https://testserver`` (the session cookie is Secure).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

with warnings.catch_warnings():
    # Starlette prefers httpx2, which the dev dependencies do not carry yet.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from clusters import TOPOLOGY, KeyPool
from recording_control import RecordingControl
from uccerts.app import create_app
from uccerts.bootstrap import Services, build_from_uow
from uccerts.domain.purposes import SERVICES
from uccerts.errors import NotFound
from uccerts.storage.memory import MemoryStore

NODE = "cucm-pub"
WRITER, WRITER_PW = "webadmin", "write-pass-123"
READER, READER_PW = "viewer", "read-pass-123"
BASE = "https://testserver"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cluster_services() -> Services:
    services = build_from_uow(MemoryStore().uow, actor="tester", source="test",
                              keygen=KeyPool())
    services.clusters.init(TOPOLOGY)
    services.accounts.add(WRITER, "read-write", WRITER_PW)
    services.accounts.add(READER, "read-only", READER_PW)
    return services


@dataclass
class FakeControl(RecordingControl):
    """The running cluster's operations as ``serve`` answers them, in memory."""

    calls: list[tuple[str, dict[str, Any], str, str]] = field(default_factory=list)
    phones: dict[str, str] = field(default_factory=lambda: {
        f"00AA0000000{i}": "REGISTERED" for i in range(4)})
    served: dict[tuple[str, str], str] = field(default_factory=dict)

    async def answer(self, op: str, args: dict[str, Any], emit: Any) -> Any:
        if op == "service.list":
            return [{"service": s.name, "state": "STARTED", "port": s.ports[0],
                     "ports": list(s.ports),
                     "certificate_sha256": self.served.get((args["node"], s.name), "ab" * 32),
                     "installed_sha256": "ab" * 32, "restart_needed": False, "warnings": []}
                    for s in SERVICES]
        if op.startswith("service."):
            action = op.split(".", 1)[1]
            if args["node"] not in ("cucm-pub", "cucm-sub1", "imp-pub"):
                raise NotFound(f"Unknown node '{args['node']}'", code="unknown-node")
            if action in ("stop", "restart"):
                emit(f"{args['service']}[STOPPING]")
                emit(f"{args['service']}[STOPPED]")
            if action in ("start", "restart"):
                emit(f"{args['service']}[STARTING]")
                emit(f"{args['service']}[STARTED]")
            self.served[(args["node"], args["service"])] = "cd" * 32
            return {"service": args["service"], "state": "STARTED", "ports": [8443],
                    "certificate_sha256": "cd" * 32}
        if op == "phones.status":
            by_state = dict.fromkeys(("REGISTERED", "UNREGISTERED", "REJECTED", "RESETTING"), 0)
            for state in self.phones.values():
                by_state[state] += 1
            return {"total": len(self.phones), "by_state": by_state,
                    "by_node": {"cucm-pub": dict(by_state)},
                    "phones": [{"mac": m, "node": "cucm-pub", "state": s, "reason": ""}
                               for m, s in self.phones.items()]}
        if op == "phones.reset":
            for mac in self.phones:
                self.phones[mac] = "RESETTING"
            return {"reset": len(self.phones)}
        raise AssertionError(f"unexpected control op {op}")

    def ops(self) -> list[str]:
        return [c[0] for c in self.calls]


class Console:
    """A browser-like client: keeps cookies, reads each form's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kw: Any) -> Any:
        response = self.client.get(path, follow_redirects=False, **kw)
        found = CSRF.search(response.text) if response.headers.get(
            "content-type", "").startswith("text/html") else None
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, *,
             files: Any = None, csrf: str | None = None) -> Any:
        form = dict(data or {})
        if csrf is None:
            csrf = self.token
        if csrf:
            form["csrf_token"] = csrf
        response = self.client.post(path, data=form, files=files, follow_redirects=False)
        found = CSRF.search(response.text) if response.headers.get(
            "content-type", "").startswith("text/html") else None
        if found:
            self.token = found.group(1)
        return response

    def login(self, user: str, password: str) -> Any:
        page = self.get("/login")
        assert page.status_code == 200, page.text
        response = self.post("/login", {"username": user, "password": password,
                                        "next": "/certificates"})
        if response.status_code == 303:
            self.get("/certificates")  # the session's CSRF token
        return response


@contextmanager
def console(services: Services, control: FakeControl | None = None,
            node: str = NODE) -> Iterator[tuple[Console, Any]]:
    app = create_app(services, node, control)
    with TestClient(app, base_url=BASE) as client:
        yield Console(client), app
