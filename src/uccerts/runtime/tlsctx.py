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
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)

from uccerts.domain.keys import PrivateKey


def server_context(certificate: x509.Certificate, key: PrivateKey,
                   chain: Sequence[x509.Certificate] = ()) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting ``certificate`` (then ``chain``)."""
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
