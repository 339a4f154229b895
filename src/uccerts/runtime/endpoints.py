"""What the other listeners answer once the TLS handshake is done.

The handshake is the point of these services in the lab: it shows which certificate
the service loaded. Past it, each says just enough to be recognisable.

- Cisco Tomcat: an HTTPS status page (the web console replaces it).
- Cisco CallManager: registration, ``REGISTER SEP<MAC>`` → ``200 OK`` or
  ``404 unknown device``.
- The others (CTIManager, CAPF, DRF, XCP): a one-line banner.
"""

from __future__ import annotations

import asyncio
import html
import ssl
from collections.abc import Awaitable, Callable

from cryptography import x509

from uccerts.domain.names import common_name
from uccerts.domain.signedfile import cert_sha256
from uccerts.runtime import wire
from uccerts.runtime.listener import Handler
from uccerts.runtime.tlsctx import peer_certificate_der


def status_page(node: str, service: str, certificate: x509.Certificate) -> Handler:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>uccerts</title></head>"
        f"<body><h1>{html.escape(service)} on {html.escape(node)}</h1>"
        f"<p>Serving the certificate of {html.escape(common_name(certificate.subject))}, "
        f"issued by {html.escape(certificate.issuer.rfc4514_string())}, "
        f"SHA-256 {cert_sha256(certificate)}.</p></body></html>\n"
    ).encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, _ = await wire.read_request(reader)
        except (wire.WireError, asyncio.IncompleteReadError):
            await wire.respond(writer, 400, b"Bad request\n")
            return
        await wire.respond(writer, 200, body, "text/html; charset=utf-8",
                           head_only=method == "HEAD")
    return serve


def registrar(knows: Callable[[str], bool]) -> Handler:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await wire.read_line(reader)).decode("ascii", "replace").split()
        except (wire.WireError, asyncio.IncompleteReadError):
            return
        if len(line) == 2 and line[0] == "REGISTER" and line[1].upper().startswith("SEP"):
            answer = b"200 OK\r\n" if knows(line[1][3:].upper()) else b"404 unknown device\r\n"
        else:
            answer = b"400 send REGISTER SEP<MAC>\r\n"
        writer.write(answer)
        await writer.drain()
    return serve


def banner(node: str, service: str) -> Handler:
    line = f"{service} on {node} ready\r\n".encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(line)
        await writer.drain()
    return serve


async def register(host: str, port: int, tls: ssl.SSLContext, mac: str,
                   server_trusted: Callable[[bytes], Awaitable[bool]]) -> tuple[bool, str]:
    """Register ``mac`` once the server certificate (DER) passes ``server_trusted``.

    Returns (trusted, the server's reply line); an untrusted server is told nothing.
    """
    reader, writer = await wire.open_connection(host, port, tls)
    try:
        if not await server_trusted(peer_certificate_der(writer.get_extra_info("ssl_object"))):
            return False, ""
        writer.write(f"REGISTER SEP{mac}\r\n".encode())
        await writer.drain()
        reply = (await wire.read_line(reader)).decode("ascii", "replace")
    finally:
        await wire.close(writer)
    return True, reply
