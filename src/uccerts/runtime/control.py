"""The local control endpoint of a running ``serve``: a Unix socket in the home.

Only the home's owner reaches it: the socket is created with mode 0600 and every
connection's peer credentials must carry the server's own user id.

Protocol, JSON lines: the client sends ``{"op": NAME, "args": {...}, "actor": USER}``;
the server answers with any number of ``{"event": TEXT}`` lines (a restart's
``Cisco Tomcat[STOPPING]`` …) and then one ``{"result": …}`` or ``{"error": {…},
"kind": CLASS}`` (``runtime.control_codec`` encodes both).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from uccerts.errors import ControlTimeout, Refused, SystemFailure, UccertsError, UsageError
from uccerts.runtime import wire
from uccerts.runtime.control_codec import decode_error, encode_error

Emit = Callable[[str], None]
Dispatch = Callable[[str, dict[str, Any], str, Emit], Awaitable[Any]]

SOCKET_NAME = "serve.sock"
REQUEST_TIMEOUT_S = 30.0


def not_running(reason: str = "") -> SystemFailure:
    return SystemFailure("The cluster is not running", code="cluster-not-running",
                         fix="Start the cluster and try again",
                         detail=reason)


def _peer_uid(sock: socket.socket) -> int | None:
    if sys.platform.startswith("linux"):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    with contextlib.suppress(AttributeError, OSError):
        return int(sock.getpeereid()[0])
    return None


class ControlServer:
    def __init__(self, path: Path, dispatch: Dispatch) -> None:
        self.path = path
        self._dispatch = dispatch
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket of a killed serve (the lock file says so)
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, self.path,
                                                           limit=wire.MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            if sock is None or _peer_uid(sock) != os.getuid():
                writer.write(wire.json_line(encode_error(Refused(
                    "Only the owner of this home may control its cluster",
                    code="control-denied"))))
                return
            try:
                request = await wire.read_json(reader, timeout=REQUEST_TIMEOUT_S)
            except (wire.WireError, asyncio.IncompleteReadError, TimeoutError):
                return

            def emit(text: str) -> None:
                writer.write(wire.json_line({"event": text}))

            op, args = request.get("op"), request.get("args") or {}
            actor = str(request.get("actor") or "unknown")
            try:
                if not isinstance(op, str) or not isinstance(args, dict):
                    raise UsageError("A control request needs an op and args",
                                     code="control-bad-request")
                result = await self._dispatch(op, args, actor, emit)
                writer.write(wire.json_line({"result": result}))
            except UccertsError as err:
                writer.write(wire.json_line(encode_error(err)))
            except Exception as err:  # a bug in an operation: say so, never "not running"
                writer.write(wire.json_line(encode_error(UccertsError(
                    f"The operation failed: {type(err).__name__}: {err}"))))
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


def call(home: Path, op: str, args: dict[str, Any], *, actor: str,
         on_event: Emit | None = None, timeout: float = 600.0) -> Any:
    """Send one request to the ``serve`` of ``home`` (blocking); returns its result or
    raises the error it answered with (``cluster-not-running`` when none answers)."""
    path = home / SOCKET_NAME
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise not_running(f"nothing listens on {path.name} in the home") from err
        except OSError as err:
            raise not_running(str(err)) from err
        sock.sendall(wire.json_line({"op": op, "args": args, "actor": actor}))
        with sock.makefile("rb") as stream:  # closed, or it keeps the socket open
            for line in stream:
                message = _decode(line)
                if "event" in message:
                    if on_event is not None:
                        on_event(str(message["event"]))
                    continue
                if "error" in message:
                    raise decode_error(message)
                return message.get("result")
        raise not_running("the cluster closed the connection without an answer")
    except TimeoutError as err:
        raise ControlTimeout(f"The cluster did not answer {op} within {timeout:g} s",
                             fix="Check the running cluster's output; try again") from err
    finally:
        sock.close()


def _decode(line: bytes) -> dict[str, Any]:
    import json

    try:
        value = json.loads(line)
    except ValueError as err:
        raise SystemFailure("The cluster answered something unreadable",
                            code="control-protocol") from err
    if not isinstance(value, dict):
        raise SystemFailure("The cluster answered something unreadable",
                            code="control-protocol")
    return value

