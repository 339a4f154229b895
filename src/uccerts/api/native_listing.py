"""The certificate list, the API's busiest read, answered from a validated cache.

Rendering a node's list (a few hundred certificates: parse, fingerprint, PEM, JSON)
costs tens of milliseconds; the list changes only when someone changes a certificate.
Every such change, from any face or process, is written with its audit entry in the
same transaction (design: "every change ... is one audit entry"), so the newest audit
entries are a change marker: an answer is cached with the marker read just before it
was rendered, and served again while the marker is unchanged. The marker is the
newest ``MARKER_DEPTH`` entries, not one: two identical entries in the same second
(two regenerations of one purpose) still move the window.

Reading the marker is one small query, and one read serves every request that arrived
before it began (``Marker``): under load a handful of queries cover many requests, and
no request is answered from a read that began before it arrived (a client sees its
own changes). Lists filtered by expiry depend on the clock and are not cached. Answers
carry an ``ETag``; ``If-None-Match`` gets a 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Hashable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from uccerts.bootstrap import Services

MARKER_DEPTH = 20
MAX_ENTRIES = 64


@dataclass(frozen=True)
class _Entry:
    marker: Hashable
    body: bytes
    etag: str


class Marker:
    """The change marker, read at most once at a time: callers that arrive while a read
    runs share the next one (which begins after they arrived)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._next: asyncio.Future[Hashable] | None = None
        self._running: asyncio.Future[Hashable] | None = None
        self._reader: asyncio.Future[None] | None = None  # the task that reads next
        self._loop: asyncio.AbstractEventLoop | None = None

    def _read(self) -> Hashable:
        return self._services.audit.change_marker(MARKER_DEPTH)

    async def current(self) -> Hashable:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing carries over
            self._loop, self._next, self._running = loop, None, None
        if self._next is None:
            self._next = loop.create_future()
            self._reader = asyncio.ensure_future(self._run())
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        while self._running is not None:
            await asyncio.wait([self._running])
        future, self._next = self._next, None
        assert future is not None
        self._running = future
        try:
            future.set_result(await run_in_threadpool(self._read))
        except Exception as err:
            future.set_exception(err)
        finally:
            self._running = None


class Listing:
    def __init__(self, services: Services) -> None:
        self.marker = Marker(services)
        self._entries: dict[tuple[object, ...], _Entry] = {}

    async def answer(self, request: Request, services: Services, node: str | None,
                     purpose: str | None, kind: str | None, expires_within: int | None
                     ) -> Response:
        if expires_within is not None:
            body = await run_in_threadpool(render, services, node, purpose, kind,
                                           expires_within)
            return _respond(request, _Entry(None, body, _etag(body)))
        key = (node and node.strip().lower(), purpose and purpose.strip().lower(), kind)
        marker = await self.marker.current()
        entry = self._entries.get(key)
        if entry is None or entry.marker != marker:
            body = await run_in_threadpool(render, services, node, purpose, kind, None)
            entry = _Entry(marker, body, _etag(body))
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = entry
        return _respond(request, entry)


def render(services: Services, node: str | None, purpose: str | None, kind: str | None,
           expires_within: int | None) -> bytes:
    views = services.certificates.list(node, purpose, kind,
                                       expiring_within_days=expires_within)
    return json.dumps([v.to_dict() for v in views]).encode()


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _respond(request: Request, entry: _Entry) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": "private, no-cache"}
    if entry.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)
