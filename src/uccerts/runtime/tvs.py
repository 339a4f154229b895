"""Cisco Trust Verification Service: is this certificate one of the cluster's?

Protocol, one JSON object per line over TLS (port 2445)::

    → {"sha256": "<hex SHA-256 of the certificate's DER>"}
    ← {"sha256": "<same>", "trusted": true, "roles": ["CallManager@cucm-pub"]}

Several questions may follow on one connection. What TVS knows is the set of the
cluster's certificates as read when the service started (``snapshot``): a
certificate changed after that is unknown until TVS restarts, as on the appliance.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable, Mapping, Sequence

from uccerts.runtime import wire
from uccerts.runtime.listener import Handler
from uccerts.runtime.tlsctx import peer_certificate_der

MAX_QUESTIONS = 100


def encode_snapshot(trusted: Mapping[str, Sequence[str]]) -> bytes:
    """``trusted``: certificate SHA-256 → the roles it plays (``purpose@node``)."""
    return json.dumps({"trusted": {k: sorted(v) for k, v in sorted(trusted.items())}}).encode()


def decode_snapshot(data: bytes) -> dict[str, tuple[str, ...]]:
    raw = json.loads(data) if data else {"trusted": {}}
    return {k: tuple(v) for k, v in raw["trusted"].items()}


def handler(trusted: Mapping[str, tuple[str, ...]]) -> Handler:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(MAX_QUESTIONS):
            try:
                question = await wire.read_json(reader)
            except (wire.WireError, asyncio.IncompleteReadError):
                return
            sha = question.get("sha256")
            if not isinstance(sha, str):
                writer.write(wire.json_line({"error": "send {\"sha256\": \"<hex>\"}"}))
                await writer.drain()
                return
            roles = trusted.get(sha.lower(), ())
            writer.write(wire.json_line({"sha256": sha.lower(), "trusted": bool(roles),
                                         "roles": list(roles)}))
            await writer.drain()
    return serve


async def ask(host: str, port: int, tls: ssl.SSLContext, sha256: str,
              server_trusted: Callable[[bytes], bool]) -> bool:
    """Ask TVS whether ``sha256`` is the cluster's. The question is only asked once
    ``server_trusted`` accepts the certificate TVS presented (DER): an untrusted TVS
    answers nothing worth believing, so that is a no."""
    reader, writer = await wire.open_connection(host, port, tls)
    try:
        if not server_trusted(peer_certificate_der(writer.get_extra_info("ssl_object"))):
            return False
        writer.write(wire.json_line({"sha256": sha256}))
        await writer.drain()
        answer = await wire.read_json(reader)
    finally:
        await wire.close(writer)
    return answer.get("trusted") is True
