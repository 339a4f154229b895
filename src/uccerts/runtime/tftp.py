"""Cisco TFTP's file service (HTTP on port 6970): the ITL, the CTL, phone configs.

What it serves is fixed when the service starts (``snapshot``: the signed ITL, the
CTL in mixed mode, the security mode) and signed with the CallManager key it loaded
then; a certificate changed later appears only after Cisco TFTP restarts. Phone
configuration files are signed on first request and kept until the service stops.

Paths (the appliance's file names; the content is the JSON format of
``docs/trust-lists.md``): ``/ITLFile.tlv``, ``/ITLSEP<MAC>.tlv``, ``/CTLFile.tlv``,
``/SEP<MAC>.cnf.xml.sgn``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from uccerts.domain.keys import PrivateKey
from uccerts.domain.trustlist import build_config
from uccerts.runtime import wire
from uccerts.runtime.listener import Handler
from uccerts.runtime.ports import Endpoint

_ITL_SEP = re.compile(r"ITLSEP([0-9A-F]{12})\.TLV")
_CONFIG = re.compile(r"SEP([0-9A-F]{12})\.CNF\.XML\.SGN")

# A phone's CallManager and the TVS it asks, or None for a MAC this cluster lacks.
Router = Callable[[str], tuple[Endpoint, Endpoint] | None]


@dataclass(frozen=True)
class TftpFiles:
    itl: bytes
    ctl: bytes | None
    security_mode: int

    def encode(self) -> bytes:
        return json.dumps({
            "itl": base64.b64encode(self.itl).decode(),
            "ctl": base64.b64encode(self.ctl).decode() if self.ctl is not None else None,
            "security_mode": self.security_mode,
        }).encode()

    @classmethod
    def decode(cls, data: bytes) -> TftpFiles:
        raw = json.loads(data)
        ctl = raw.get("ctl")
        return cls(base64.b64decode(raw["itl"]),
                   base64.b64decode(ctl) if ctl is not None else None,
                   int(raw["security_mode"]))


def handler(files: TftpFiles, signer: x509.Certificate, key: PrivateKey,
            route: Router) -> Handler:
    configs: dict[str, bytes] = {}

    def config_for(mac: str) -> bytes | None:
        cached = configs.get(mac)
        if cached is None:
            where = route(mac)
            if where is None:
                return None
            cm, tvs = where
            cached = build_config(mac, (cm.node, cm.address, cm.port),
                                  (tvs.node, tvs.address, tvs.port),
                                  files.security_mode, signer, key)
            configs[mac] = cached
        return cached

    def lookup(path: str) -> bytes | None:
        # File names are matched case-insensitively, as phones and TFTP do.
        name = path.split("?", 1)[0].lstrip("/").upper()
        if name == "ITLFILE.TLV" or _ITL_SEP.fullmatch(name):
            return files.itl
        if name == "CTLFILE.TLV":
            return files.ctl if files.security_mode == 1 else None
        match = _CONFIG.fullmatch(name)
        return config_for(match.group(1)) if match else None

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path = await wire.read_request(reader)
        except (wire.WireError, asyncio.IncompleteReadError):
            await wire.respond(writer, 400, b"Bad request\n")
            return
        if method not in ("GET", "HEAD"):
            await wire.respond(writer, 405, b"Only GET\n")
            return
        body = lookup(path)
        if body is None:
            await wire.respond(writer, 404, b"No such file\n", head_only=method == "HEAD")
            return
        await wire.respond(writer, 200, body, "application/octet-stream",
                           head_only=method == "HEAD")
    return serve
