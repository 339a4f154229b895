"""Service listeners and their TLS contexts, over real loopback sockets.

What a phone or a browser notices: the certificate the listener serves, that a
stopped service refuses connections and drops the ones it had, that a port already
taken is an error, and that a CA-signed certificate arrives with its intermediate.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from pki import CA, make_key
from tests.integration.runtime_helpers import (
    bounded,
    client_context,
    free_port,
    handshake,
    loopback_block,
    refused,
)
from uccerts.runtime.listener import Listener
from uccerts.runtime.tlsctx import offers_only_ecdsa, server_context


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()


@pytest.fixture
def address() -> str:
    return loopback_block(1, ports=())[0]


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    root = CA.root("Runtime Test Root")
    issuing = root.intermediate("Runtime Test Issuing")
    return {"root": root, "issuing": issuing,
            "rsa": issuing.issue("cucm-pub.uc.example", key_type="rsa"),
            "ec": issuing.issue("cucm-pub.uc.example", key_type="ec")}


def test_listener_serves_the_certificate_it_was_given(address: str, pki: dict[str, Any]
                                                      ) -> None:
    leaf = pki["rsa"]

    async def main() -> None:
        listener = Listener(address, free_port(address), echo,
                            server_context(leaf.cert, leaf.key))
        await bounded(listener.start())
        try:
            der = await handshake(address, listener.port)
            assert der == leaf.cert.public_bytes(Encoding.DER)
            # Past the handshake the handler runs: it echoes a line back.
            reader, writer = await bounded(asyncio.open_connection(
                address, listener.port, ssl=client_context()))
            writer.write(b"hello\n")
            assert await bounded(reader.readline()) == b"hello\n"
            writer.close()
        finally:
            await bounded(listener.stop())

    asyncio.run(bounded(main()))


def test_stop_closes_the_port_and_ends_open_connections(address: str, pki: dict[str, Any]
                                                        ) -> None:
    leaf = pki["ec"]

    async def main() -> None:
        listener = Listener(address, free_port(address), echo,
                            server_context(leaf.cert, leaf.key))
        await bounded(listener.start())
        assert listener.running
        reader, writer = await bounded(asyncio.open_connection(
            address, listener.port, ssl=client_context()))
        writer.write(b"ping\n")
        assert await bounded(reader.readline()) == b"ping\n"
        await bounded(listener.stop())
        assert not listener.running
        # The open connection is ended by the server: the client reads the end.
        try:
            rest = await bounded(reader.read(), 5)
        except (ConnectionError, ssl.SSLError):
            rest = b""
        assert rest == b""
        writer.close()
        assert await refused(address, listener.port)
        await bounded(listener.stop())  # a second stop is harmless

    asyncio.run(bounded(main()))


def test_a_stopped_listener_starts_again_on_the_same_port(address: str,
                                                          pki: dict[str, Any]) -> None:
    first, second = pki["rsa"], pki["ec"]

    async def main() -> None:
        port = free_port(address)
        listener = Listener(address, port, echo, server_context(first.cert, first.key))
        await bounded(listener.start())
        await bounded(listener.stop())
        again = Listener(address, port, echo, server_context(second.cert, second.key))
        await bounded(again.start())
        try:
            assert await handshake(address, port) == second.cert.public_bytes(Encoding.DER)
        finally:
            await bounded(again.stop())

    asyncio.run(bounded(main()))


def test_binding_an_address_already_bound_raises_oserror(address: str,
                                                         pki: dict[str, Any]) -> None:
    leaf = pki["rsa"]

    async def main() -> None:
        tls = server_context(leaf.cert, leaf.key)
        first = Listener(address, free_port(address), echo, tls)
        await bounded(first.start())
        try:
            second = Listener(address, first.port, echo, tls)
            with pytest.raises(OSError):
                await bounded(second.start())
            assert not second.running
            # The first one still serves.
            assert await handshake(address, first.port) == leaf.cert.public_bytes(Encoding.DER)
        finally:
            await bounded(first.stop())

    asyncio.run(bounded(main()))


def test_a_silent_or_rude_client_does_not_stop_the_listener(address: str,
                                                            pki: dict[str, Any]) -> None:
    leaf = pki["ec"]

    async def main() -> None:
        listener = Listener(address, free_port(address), echo,
                            server_context(leaf.cert, leaf.key))
        await bounded(listener.start())
        try:
            # Plain text to a TLS port, then a client that hangs up mid-handshake.
            reader, writer = await bounded(asyncio.open_connection(address, listener.port))
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            await bounded(reader.read(), 10)
            writer.close()
            _, writer = await bounded(asyncio.open_connection(address, listener.port))
            writer.close()
            assert await handshake(address, listener.port) == leaf.cert.public_bytes(
                Encoding.DER)
        finally:
            await bounded(listener.stop())

    asyncio.run(bounded(main()))


# ------------------------------------------------------------------ server_context


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_a_client_trusting_only_the_root_verifies_the_server(
        address: str, pki: dict[str, Any], key_type: str) -> None:
    """The intermediate is sent after the certificate: a client that has only the root
    completes the chain (and checks the host name) from what the server sent."""
    leaf, root, issuing = pki[key_type], pki["root"], pki["issuing"]
    root_pem = root.cert.public_bytes(Encoding.PEM)

    async def main() -> None:
        with_chain = Listener(address, free_port(address), echo,
                              server_context(leaf.cert, leaf.key, [issuing.cert]))
        alone = Listener(address, free_port(address), echo,
                         server_context(leaf.cert, leaf.key))
        await bounded(with_chain.start())
        await bounded(alone.start())
        try:
            der = await handshake(address, with_chain.port, client_context(root_pem),
                                  server_hostname="cucm-pub.uc.example")
            assert der == leaf.cert.public_bytes(Encoding.DER)
            # Without the chain the same client cannot verify: the check above is real.
            with pytest.raises(ssl.SSLCertVerificationError):
                await handshake(address, alone.port, client_context(root_pem),
                                server_hostname="cucm-pub.uc.example")
        finally:
            await bounded(with_chain.stop())
            await bounded(alone.stop())

    asyncio.run(bounded(main()))


def test_the_private_key_is_never_written_in_the_clear(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: dict[str, Any]) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: list[tuple[int, bytes]] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: Any, keyfile: Any = None,
            password: Any = None) -> None:
        folder = Path(keyfile).parent
        seen.append((stat.S_IMODE(os.stat(folder).st_mode), Path(keyfile).read_bytes()))
        original(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    for kind in ("rsa", "ec"):
        server_context(pki[kind].cert, pki[kind].key, [pki["issuing"].cert])
    assert len(seen) == 2
    for mode, key_file in seen:
        assert mode == 0o700
        assert key_file.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert list(tmp_path.iterdir()) == [], "a temporary key folder was left behind"


def test_a_key_that_does_not_match_fails_and_leaves_nothing_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: dict[str, Any]) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ssl.SSLError):
        server_context(pki["rsa"].cert, make_key("rsa"))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ RSA and ECDSA


def _openssl_key_type(address: str, port: int, *extra: str) -> str:
    """What ``openssl s_client`` reports of the server's key (a client whose signature
    algorithms can be limited, which Python's ssl cannot do)."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"{address}:{port}", *extra],
                         input=b"", capture_output=True, timeout=20, check=False).stdout
    line = next(x for x in out.decode().splitlines() if x.startswith("Peer signature type"))
    return line.split(":")[1].strip()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_ecdsa_only_clients_get_the_ecdsa_certificate_the_others_rsa(
        address: str, pki: dict[str, Any]) -> None:
    # As the appliance's Tomcat: the RSA certificate unless the client cannot take it.
    rsa_leaf, ec_leaf, issuing = pki["rsa"], pki["ec"], pki["issuing"]
    tls = server_context(rsa_leaf.cert, rsa_leaf.key, [issuing.cert],
                         ecdsa=(ec_leaf.cert, ec_leaf.key, [issuing.cert]))

    async def main() -> None:
        listener = Listener(address, free_port(address), echo, tls)
        await bounded(listener.start())
        try:
            port = listener.port
            der = await handshake(address, port)  # a default Python client (TLS 1.3)
            assert der == rsa_leaf.cert.public_bytes(Encoding.DER)
            tls12 = client_context()
            tls12.maximum_version = ssl.TLSVersion.TLSv1_2
            assert await handshake(address, port, tls12) == rsa_leaf.cert.public_bytes(
                Encoding.DER)
            for version in ("-tls1_3", "-tls1_2"):
                run = asyncio.to_thread
                assert await bounded(run(_openssl_key_type, address, port, version)) in (
                    "RSA-PSS", "RSA")
                assert await bounded(run(_openssl_key_type, address, port, version,
                                         "-sigalgs", "ECDSA+SHA256:ECDSA+SHA384")) == "ECDSA"
        finally:
            await bounded(listener.stop())

    asyncio.run(bounded(main()))


def test_offers_only_ecdsa_reads_the_client_hello() -> None:
    def hello(*schemes: int) -> bytes:
        sigalgs = b"".join(s.to_bytes(2, "big") for s in schemes)
        ext = (13).to_bytes(2, "big") + (len(sigalgs) + 2).to_bytes(2, "big") + (
            len(sigalgs).to_bytes(2, "big") + sigalgs)
        other = (10).to_bytes(2, "big") + (4).to_bytes(2, "big") + b"\x00\x02\x00\x17"
        exts = other + ext
        body = (b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
                + len(exts).to_bytes(2, "big") + exts)
        return b"\x01" + len(body).to_bytes(3, "big") + body

    assert offers_only_ecdsa(hello(0x0403, 0x0503))
    assert not offers_only_ecdsa(hello(0x0403, 0x0804))
    assert not offers_only_ecdsa(hello(0x0804, 0x0401))
    assert not offers_only_ecdsa(hello(0x0807))  # Ed25519 only: no ECDSA either
    assert not offers_only_ecdsa(hello()[:20])  # truncated: the RSA default
