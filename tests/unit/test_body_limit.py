"""The 1 MiB request limit in front of every route, however the body arrives."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uccerts.http.limits import MAX_BODY, BodyLimit


def _call(chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None
          ) -> tuple[int, bytes, list[bytes]]:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
             for i, c in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
    asyncio.run(BodyLimit(app)(scope, receive, send))
    return sent[0]["status"], sent[1]["body"], seen


def test_a_chunked_body_over_the_limit_is_413_and_never_reaches_the_app() -> None:
    status, body, seen = _call([b"x" * (MAX_BODY // 2 + 1), b"x" * (MAX_BODY // 2 + 1)])
    assert status == 413 and seen == []
    assert "larger than 1 MiB" in json.loads(body)["message"]


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    status, _, seen = _call([b""], [(b"content-length", str(MAX_BODY + 1).encode())])
    assert status == 413 and seen == []


def test_a_body_in_pieces_under_the_limit_reaches_the_app_whole() -> None:
    status, _, seen = _call([b"a" * 1000, b"b" * 1000, b"c"])
    assert status == 200 and seen == [b"a" * 1000 + b"b" * 1000 + b"c"]
