"""Cisco Tomcat's HTTP adapter against slow and greedy clients, over real loopback TLS
(issue 10 items 2 and 3): a request head trickling in is cut at its deadline however
often it sends a byte, the connections a service and one client address may hold are
capped (the excess is closed at once, before its TLS handshake), and a head over
32 KiB is refused even when it arrives in one piece. benchmarks/slowloris.py measures
the memory side."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pki import CA
from tests.integration.runtime_helpers import bounded, client_context, free_port, loopback_block
from uccerts.runtime import asgi
from uccerts.runtime.asgi import asgi_handler
from uccerts.runtime.listener import Listener
from uccerts.runtime.tlsctx import server_context


async def hello(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def tls() -> ssl.SSLContext:
    leaf = CA.root("Slow Client Root").issue("cucm-pub.uc.example", key_type="ec")
    return server_context(leaf.cert, leaf.key)


@contextlib.asynccontextmanager
async def serving(address: str, tls: ssl.SSLContext, **caps: int
                  ) -> AsyncIterator[int]:
    port = free_port(address)
    listener = Listener(address, port, asgi_handler(hello, **caps), tls)
    await listener.start()
    try:
        yield port
    finally:
        await listener.stop()


async def connect(address: str, port: int, source: str | None = None
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await bounded(asyncio.open_connection(
        address, port, ssl=client_context(), local_addr=(source, 0) if source else None))


async def turned_away(address: str, port: int, source: str) -> bool:
    """True when the server closes the connection before the TLS handshake ends."""
    try:
        _, writer = await connect(address, port, source)
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        return True
    writer.close()
    return False


async def answer(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    """What the server sent before closing (b"" when it closed without a word)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    except (ConnectionError, ssl.SSLError):
        return b""


def test_a_trickling_head_is_closed_at_its_deadline(tls: ssl.SSLContext,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asgi, "HEAD_TIMEOUT_S", 1.5)
    address = loopback_block(1, ports=())[0]

    async def trickle(port: int) -> float:
        reader, writer = await connect(address, port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        try:
            for n in range(40):  # one header line every 0.2 s: each read is quick
                if reader.at_eof():
                    break
                writer.write(b"X-Slow-%d: y\r\n" % n)
                await writer.drain()
                await asyncio.sleep(0.2)
        except (ConnectionError, ssl.SSLError):
            pass
        await answer(reader)
        writer.close()
        return time.monotonic() - started

    async def main() -> list[float]:
        async with serving(address, tls) as port:
            return await asyncio.gather(*(trickle(port) for _ in range(30)))

    durations = asyncio.run(main())
    assert max(durations) < 1.5 + 1.5, durations  # not the 8 s the trickle would take


def test_connections_are_capped_per_listener_and_per_client(tls: ssl.SSLContext) -> None:
    server, one, other = loopback_block(3, ports=())

    async def main() -> None:
        async with serving(server, tls, max_connections=12, max_per_client=8) as port:
            held = [await connect(server, port, one) for _ in range(8)]
            assert await turned_away(server, port, one)  # one address: the 9th
            held += [await connect(server, port, other) for _ in range(4)]
            assert await turned_away(server, port, other)  # the service: the 13th
            # Those held are served, and a place freed is taken again.
            _, first = held.pop(0)
            first.close()
            await asyncio.sleep(0.2)
            reader, writer = await connect(server, port, one)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert (await answer(reader)).startswith(b"HTTP/1.1 200")
            writer.close()
            for _, w in held:
                w.close()

    asyncio.run(main())


def test_a_head_over_32_kib_in_one_piece_is_refused(tls: ssl.SSLContext) -> None:
    address = loopback_block(1, ports=())[0]
    head = (b"GET / HTTP/1.1\r\nHost: x\r\n" +
            b"".join(b"X-Filler-%d: %s\r\n" % (n, b"a" * 1000) for n in range(40)) +
            b"Connection: close\r\n\r\n")
    assert 40_000 < len(head) < 65_536  # one read takes all of it

    async def main() -> bytes:
        async with serving(address, tls) as port:
            reader, writer = await connect(address, port)
            writer.write(head)
            got = await answer(reader)
            writer.close()
            return got

    status = asyncio.run(main()).split(b"\r\n", 1)[0]
    assert status in (b"HTTP/1.1 431 ", b"HTTP/1.1 400 "), status
