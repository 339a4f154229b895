"""The http-01 responder: serves ``/.well-known/acme-challenge/<token>`` (RFC 8555 §8.3)
on the node's addresses for as long as an order is being validated.

One small threaded HTTP server per address, answering only the tokens registered
with ``publish``; everything else is 404. Used as a context manager: the listeners
exist only inside the ``with`` block.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from uccerts.errors import SystemFailure, UsageError

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
REQUEST_TIMEOUT_S = 10.0  # a validator that connects and stalls cannot hold a thread
STOP_TIMEOUT_S = 5.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    answers: dict[str, bytes]


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_S
    server_version = "uccerts-http01"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        body = self._answer()
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(200 if self._answer() is not None else 404)
        self.end_headers()

    def _answer(self) -> bytes | None:
        path = self.path.split("?", 1)[0]
        if not path.startswith(CHALLENGE_PREFIX):
            return None
        return self.server.answers.get(path[len(CHALLENGE_PREFIX):])

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: validators' requests are not the operator's business."""


class Http01Responder:
    """``with Http01Responder(["10.0.0.1"], 80) as r: r.publish(token, validation)``."""

    def __init__(self, addresses: list[str], port: int) -> None:
        if not addresses:
            raise UsageError("No address to answer http-01 on", code="acme-no-address",
                             fix="Give the node's IP address the CA's validator reaches")
        for address in addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise UsageError(f"'{address}' is not an IP address", code="acme-no-address",
                                 fix="Answer http-01 on the node's IP address") from None
        self._addresses = list(dict.fromkeys(addresses))
        self._port = port
        self._answers: dict[str, bytes] = {}
        self._servers: list[tuple[_Server, threading.Thread]] = []

    def publish(self, token: str, validation: str) -> None:
        """Answer ``validation`` (the key authorization) for ``token``."""
        self._answers[token] = validation.encode("ascii")

    def __enter__(self) -> Http01Responder:
        try:
            for address in self._addresses:
                self._servers.append(self._start(address))
        except OSError as exc:
            self.close()
            raise SystemFailure(
                f"Cannot answer http-01 on port {self._port}", code="acme-http01-bind",
                detail=str(exc),
                fix="Free the port (or run with the right to bind it), or set the "
                    "http-01 port the ACME server validates on") from exc
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _start(self, address: str) -> tuple[_Server, threading.Thread]:
        ip = ipaddress.ip_address(address)
        cls = _IPv6Server if ip.version == 6 else _Server
        server = cls((address, self._port), _Handler)
        server.answers = self._answers
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                  name=f"http01-{address}", daemon=True)
        thread.start()
        return server, thread

    def close(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(STOP_TIMEOUT_S)
        self._servers.clear()
