"""The small wire formats the lab services speak, both ends.

- JSON lines (TVS, the control endpoint): one UTF-8 JSON object per line.
- A line protocol for registration (CallManager): ``REGISTER SEP<MAC>`` answered by
  ``200 OK`` or ``403 <reason>``.
- Plain HTTP/1.1 GET with ``Connection: close`` (TFTP's file service, the status
  page): enough of HTTP for ``curl`` and a browser, and nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from typing import Any

MAX_LINE = 64 * 1024
MAX_HEAD = 16 * 1024
MAX_BODY = 8 * 1024 * 1024
IO_TIMEOUT_S = 10.0

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


class WireError(Exception):
    """The peer said something this side cannot read."""


async def read_line(reader: asyncio.StreamReader, *, timeout: float = IO_TIMEOUT_S) -> bytes:
    try:
        line = await asyncio.wait_for(reader.readuntil(b"\n"), timeout)
    except asyncio.LimitOverrunError as err:
        raise WireError("line too long") from err
    return line.rstrip(b"\r\n")


async def read_json(reader: asyncio.StreamReader, *, timeout: float = IO_TIMEOUT_S
                    ) -> dict[str, Any]:
    line = await read_line(reader, timeout=timeout)
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WireError("not JSON") from err
    if not isinstance(value, dict):
        raise WireError("not a JSON object")
    return value


def json_line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


# --------------------------------------------------------------- HTTP (server side)


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """(method, path) of one request; the head is read and dropped."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IO_TIMEOUT_S)
    except asyncio.LimitOverrunError as err:
        raise WireError("request head too long") from err
    if len(head) > MAX_HEAD:
        raise WireError("request head too long")
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise WireError("not an HTTP request")
    return parts[0].upper(), parts[1]


async def respond(writer: asyncio.StreamWriter, status: int, body: bytes,
                  content_type: str = "text/plain; charset=utf-8",
                  *, head_only: bool = False) -> None:
    reason = _REASONS.get(status, "Status")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    writer.write(head if head_only else head + body)
    await writer.drain()


# --------------------------------------------------------------- clients


async def open_connection(host: str, port: int, tls: ssl.SSLContext | None = None,
                          *, timeout: float = IO_TIMEOUT_S
                          ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=tls, limit=MAX_LINE,
                                ssl_handshake_timeout=timeout if tls else None),
        timeout)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 2)


async def _read_to_end(reader: asyncio.StreamReader, cap: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := await reader.read(65536):
        total += len(chunk)
        if total > cap:
            raise WireError("response too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def http_get(host: str, port: int, path: str, *, timeout: float = IO_TIMEOUT_S
                   ) -> tuple[int, bytes]:
    """GET ``path``: (status, body). Raises ``OSError``/``WireError``/``TimeoutError``."""
    reader, writer = await open_connection(host, port, timeout=timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        raw = await asyncio.wait_for(_read_to_end(reader, MAX_BODY + MAX_HEAD), timeout)
    finally:
        await close(writer)
    head, sep, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status_line) < 2 or not status_line[1].isdigit():
        raise WireError("not an HTTP response")
    return int(status_line[1]), body
