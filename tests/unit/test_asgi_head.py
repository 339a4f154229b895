"""The 32 KiB request-head limit of Tomcat's HTTP adapter holds however the head
arrives: h11 alone bounds only a head still incomplete, so one read carrying a whole
40 KB head used to reach the application (issue 10 item 3)."""

from __future__ import annotations

import asyncio
from typing import Any

from uccerts.runtime.asgi import MAX_HEAD, asgi_handler


class _Writer:
    def __init__(self) -> None:
        self.sent = bytearray()

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 40000) if name in ("peername", "sockname") else None

    def write(self, data: bytes) -> None:
        self.sent += data

    async def drain(self) -> None:
        return None


def _exchange(raw: bytes) -> tuple[bytes, int]:
    calls = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal calls
        calls += 1
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def main() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)  # all of it, ready for the first read
        reader.feed_eof()
        writer = _Writer()
        await asgi_handler(app)(reader, writer)  # type: ignore[arg-type]
        return bytes(writer.sent)

    return asyncio.run(main()), calls


def _head(filler: int) -> bytes:
    return (b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * filler +
            b"\r\nConnection: close\r\n\r\n")


def test_a_40_kb_head_in_one_read_is_431_and_never_reaches_the_app() -> None:
    sent, calls = _exchange(_head(40_000))
    assert sent.startswith(b"HTTP/1.1 431 ") and calls == 0
    assert b"larger than 32 KiB" in sent


def test_a_head_just_under_the_limit_is_served() -> None:
    head = _head(0)
    sent, calls = _exchange(_head(MAX_HEAD - len(head)))
    assert sent.startswith(b"HTTP/1.1 200 ") and calls == 1


def test_a_request_behind_a_small_one_is_measured_on_its_own() -> None:
    small = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    sent, calls = _exchange(small * 3 + _head(40_000))
    assert sent.count(b"HTTP/1.1 200 ") == 3 and calls == 3
    assert b"HTTP/1.1 431 " in sent
