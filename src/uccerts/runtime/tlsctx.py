"""TLS contexts for service listeners and for phones.

The ``ssl`` module loads certificates and keys only from files. A private key must
never be written in the clear, so it is written encrypted under a one-time random
password into a private temporary folder, loaded, and the folder removed at once.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)

from uccerts.domain.keys import PrivateKey

Identity = tuple[x509.Certificate, PrivateKey, Sequence[x509.Certificate]]


def server_context(certificate: x509.Certificate, key: PrivateKey,
                   chain: Sequence[x509.Certificate] = (), *,
                   ecdsa: Identity | None = None) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting ``certificate`` (then ``chain``).

    ``ecdsa``: a second identity (Tomcat's tomcat-ECDSA) presented to clients whose
    ClientHello offers only ECDSA signature algorithms, as the appliance does; every
    other client gets ``certificate``.
    """
    ctx = _context(certificate, key, chain)
    if ecdsa is not None:
        _present_ecdsa_to_ecdsa_only_clients(ctx, _context(*ecdsa))
    return ctx


def _context(certificate: x509.Certificate, key: PrivateKey,
             chain: Sequence[x509.Certificate]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    password = secrets.token_urlsafe(24).encode()
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in (certificate, *chain))
    sealed = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                               BestAvailableEncryption(password))
    with tempfile.TemporaryDirectory(prefix="uccerts-tls-") as folder:
        os.chmod(folder, 0o700)
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(pem)
        key_file.write_bytes(sealed)
        ctx.load_cert_chain(cert_file, key_file, password=password)
    return ctx


def _present_ecdsa_to_ecdsa_only_clients(ctx: ssl.SSLContext, ec: ssl.SSLContext) -> None:
    """Switch a connection to ``ec`` when its ClientHello offers no RSA signature.

    Loading both chains into one context would let OpenSSL choose, and it chooses
    ECDSA for nearly every client (ECDSA comes first in the usual signature lists);
    the appliance serves RSA unless the client cannot take it. ``ssl`` does not expose
    the ClientHello, so the message callback notes the client's signature algorithms
    and the SNI callback, which OpenSSL calls after it (with or without a server
    name) and before the certificate is chosen, switches the connection's context.
    """
    ecdsa_only: weakref.WeakSet[object] = weakref.WeakSet()

    def on_message(conn: object, direction: str, _version: object, _content: object,
                   msg_type: object, data: bytes) -> None:
        if direction == "read" and msg_type == _CLIENT_HELLO and offers_only_ecdsa(data):
            ecdsa_only.add(conn)

    def on_server_name(conn: ssl.SSLObject | ssl.SSLSocket, _name: str | None,
                       _ctx: ssl.SSLContext) -> None:
        if conn in ecdsa_only:
            ecdsa_only.discard(conn)
            conn.context = ec

    # _msg_callback is CPython's (undocumented) hook onto SSL_set_msg_callback.
    setattr(ctx, "_msg_callback", on_message)  # noqa: B010
    ctx.sni_callback = on_server_name


_CLIENT_HELLO = 1
_SIGNATURE_ALGORITHMS = 13
_ECDSA = {0x0203, 0x0403, 0x0503, 0x0603, 0x081A, 0x081B, 0x081C}
_RSA = {0x0201, 0x0401, 0x0501, 0x0601, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B}


def offers_only_ecdsa(hello: bytes) -> bool:
    """True when a ClientHello (handshake header included) lists signature algorithms,
    at least one ECDSA and no RSA. Anything unreadable is False: the RSA default."""
    schemes = _signature_algorithms(hello)
    return bool(schemes & _ECDSA) and not schemes & _RSA


def _signature_algorithms(hello: bytes) -> set[int]:
    try:
        pos = 4 + 2 + 32  # header, legacy version, random
        pos += 1 + hello[pos]  # session id
        pos += 2 + int.from_bytes(hello[pos:pos + 2], "big")  # cipher suites
        pos += 1 + hello[pos]  # compression methods
        end = pos + 2 + int.from_bytes(hello[pos:pos + 2], "big")
        pos += 2
        while pos + 4 <= min(end, len(hello)):
            kind = int.from_bytes(hello[pos:pos + 2], "big")
            size = int.from_bytes(hello[pos + 2:pos + 4], "big")
            body = hello[pos + 4:pos + 4 + size]
            if kind == _SIGNATURE_ALGORITHMS:
                count = int.from_bytes(body[:2], "big") // 2
                return {int.from_bytes(body[2 + 2 * i:4 + 2 * i], "big")
                        for i in range(count)}
            pos += 4 + size
    except IndexError:
        pass
    return set()


def pinning_client_context() -> ssl.SSLContext:
    """A client context that completes the handshake with any certificate.

    Phones do not trust through a CA chain: they pin the server certificate against
    their ITL (or ask TVS), which the caller does with the certificate the server
    presented (``peer_certificate``).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_certificate_der(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes:
    """The DER certificate the server presented (empty if none)."""
    if ssl_object is None:
        return b""
    return ssl_object.getpeercert(binary_form=True) or b""
