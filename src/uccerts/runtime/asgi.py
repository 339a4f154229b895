"""An ASGI application served over a listener's streams (HTTP/1.1 with h11).

Cisco Tomcat must serve the web console and the APIs with the certificate it loaded
when it started, so the console rides on the service's own TLS listener rather than
on a separate web server with its own idea of certificates and restarts.

Request bodies are read whole before the application runs, up to ``MAX_BODY``; a
larger one is answered 413 here, without reaching the application.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import h11

from uccerts.runtime import memory

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_HEAD = 32 * 1024  # a request line and headers larger than this are answered 431
MAX_BODY = 1024 * 1024  # uploads over 1 MiB are refused (413)
# A kept-alive connection may wait this long for the first byte of its next request.
IDLE_TIMEOUT_S = 30.0
# From its first byte, a request head must be complete within this, however slowly
# it trickles in: a per-read timeout lets one header line every 20 s hold a
# connection (and its buffers) forever.
HEAD_TIMEOUT_S = 10.0
# The whole body, likewise, within this of its head.
BODY_TIMEOUT_S = 60.0
# Open connections per service (all its listeners) and per client address; the
# excess is closed at once, before its TLS handshake, so a flood cannot hold memory
# and descriptors without bound.
MAX_CONNECTIONS = 512
MAX_PER_CLIENT = 128
_CHUNK = 65536
class _Closed(Exception):
    """The client went away or broke HTTP; end the connection quietly."""


class _HeadTooLarge(Exception):
    """The request head is over ``MAX_HEAD``."""


# After this many connections at once, the memory is given back once most are gone.
_BURST = 64
_SETTLE_S = 1.0


class _Connections:
    """Open connections of one listener, in all and per client address."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total, self.per_client = total, per_client
        self.open = self.peak = 0
        self.by_client: dict[str, int] = {}

    def admit(self, client: str) -> bool:
        if self.open >= self.total or self.by_client.get(client, 0) >= self.per_client:
            return False
        self.open += 1
        self.peak = max(self.peak, self.open)
        self.by_client[client] = self.by_client.get(client, 0) + 1
        return True

    def leave(self, client: str) -> None:
        self.open -= 1
        left = self.by_client.pop(client, 1) - 1
        if left > 0:
            self.by_client[client] = left
        if self.peak >= _BURST and self.open <= self.peak // 4:
            # A burst has mostly left: return its buffers to the system, once the
            # connections just ended have been torn down.
            self.peak = self.open
            asyncio.get_running_loop().call_later(_SETTLE_S, memory.give_back)


class AsgiHandler(_Connections):
    """``app`` served per connection; one per service, so that the connection caps
    count what all its listeners hold. The listener asks ``admit`` before the TLS
    handshake (``runtime.listener.Gate``): the excess costs no handshake or buffers."""

    def __init__(self, app: App, scheme: str, max_connections: int, max_per_client: int
                 ) -> None:
        super().__init__(max_connections, max_per_client)
        self.app, self.scheme = app, scheme

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                       ) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        await _connection(self.app, self.scheme, reader, writer, peer)


def asgi_handler(app: App, *, scheme: str = "https", max_connections: int = MAX_CONNECTIONS,
                 max_per_client: int = MAX_PER_CLIENT) -> AsgiHandler:
    return AsgiHandler(app, scheme, max_connections, max_per_client)


async def _connection(app: App, scheme: str, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, peer: tuple[Any, ...]) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    local = writer.get_extra_info("sockname") or ("", 0)
    try:
        while True:
            event = await _head(conn, reader)
            if isinstance(event, h11.ConnectionClosed):
                return
            if not isinstance(event, h11.Request):
                return
            body = await _body(conn, reader, event)
            if body is None:
                await _too_large(conn, writer)
                return
            await _run(app, conn, writer, event, body, scheme, peer, local)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except _HeadTooLarge:
        await _head_too_large(conn, writer)
    except h11.RemoteProtocolError as err:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            if err.error_status_hint == 431:
                await _head_too_large(conn, writer)
            else:
                await _send_error(conn, writer, 400, "Bad request")
    except (_Closed, h11.ProtocolError):
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            await _send_error(conn, writer, 400, "Bad request")


async def _head(conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
    """The next request head: its first byte within ``IDLE_TIMEOUT_S``, all of it
    within ``HEAD_TIMEOUT_S`` of that, and at most ``MAX_HEAD`` bytes even when it
    arrives in one read (h11 bounds only a head still incomplete)."""
    loop = asyncio.get_running_loop()
    buffered = len(conn.trailing_data[0])  # a pipelined request already read
    deadline = loop.time() + HEAD_TIMEOUT_S if buffered else None
    size = buffered
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            if isinstance(event, h11.Request) and size - len(conn.trailing_data[0]) > MAX_HEAD:
                raise _HeadTooLarge
            return event
        data = await _read(reader, IDLE_TIMEOUT_S if deadline is None
                           else deadline - loop.time())
        if deadline is None:
            deadline = loop.time() + HEAD_TIMEOUT_S
        size += len(data)
        conn.receive_data(data)


async def _read(reader: asyncio.StreamReader, timeout: float) -> bytes:
    if timeout <= 0:
        raise _Closed
    try:
        return await asyncio.wait_for(reader.read(_CHUNK), timeout)
    except TimeoutError as err:
        raise _Closed from err


async def _body(conn: h11.Connection, reader: asyncio.StreamReader, request: h11.Request
                ) -> bytes | None:
    for name, value in request.headers:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
            return None
    deadline = asyncio.get_running_loop().time() + BODY_TIMEOUT_S
    chunks: list[bytes] = []
    size = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            remaining = deadline - asyncio.get_running_loop().time()
            conn.receive_data(await _read(reader, remaining))
            continue
        if isinstance(event, h11.Data):
            size += len(event.data)
            if size > MAX_BODY:
                return None
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return b"".join(chunks)
        else:
            raise _Closed


async def _run(app: App, conn: h11.Connection, writer: asyncio.StreamWriter,
               request: h11.Request, body: bytes, scheme: str, peer: tuple[Any, ...],
               local: tuple[Any, ...]) -> None:
    target = request.target.decode("latin-1")
    path, _, query = target.partition("?")
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.http_version.decode(), "method": request.method.decode(),
        "scheme": scheme, "path": _unquote(path), "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"), "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers],
        "client": (peer[0], peer[1]), "server": (local[0], local[1]),
    }
    delivered = False
    finished = asyncio.Event()
    started = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            _send(conn, writer, h11.Response(status_code=message["status"], headers=headers))
        elif message["type"] == "http.response.body":
            data = message.get("body", b"")
            if data and request.method != b"HEAD":
                _send(conn, writer, h11.Data(data=data))
            if not message.get("more_body", False):
                _send(conn, writer, h11.EndOfMessage())
                finished.set()
            await writer.drain()

    try:
        await app(scope, receive, send)
    except Exception:
        if not started:
            await _send_error(conn, writer, 500, "Internal error")
            return
        raise _Closed from None
    finally:
        finished.set()
    if conn.our_state is h11.SEND_BODY:  # the app stopped mid-response
        raise _Closed


def _send(conn: h11.Connection, writer: asyncio.StreamWriter, event: Any) -> None:
    data = conn.send(event)
    if data:
        writer.write(data)


async def _send_error(conn: h11.Connection, writer: asyncio.StreamWriter, status: int,
                      text: str) -> None:
    body = json.dumps({"message": text, "messages": [text]}).encode()
    try:
        _send(conn, writer, h11.Response(status_code=status, headers=[
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]))
        _send(conn, writer, h11.Data(data=body))
        _send(conn, writer, h11.EndOfMessage())
        await writer.drain()
    except (h11.LocalProtocolError, ConnectionError):
        pass


async def _head_too_large(conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
    await _send_error(conn, writer, 431, "The request head is larger than 32 KiB: send "
                                         "fewer or shorter headers")


async def _too_large(conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
    await _send_error(conn, writer, 413, "The request body is larger than 1 MiB: upload "
                                         "certificates one file at a time")


def _unquote(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)
