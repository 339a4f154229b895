"""One bound socket serving connections, whose stop also ends the open connections.

A service restart must not leave an old connection talking with the old certificate
after the service says STARTED again, so ``stop`` aborts what is still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from uccerts.runtime.tasks import cancel_all

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

# Phones reset by the thousand: the accept queue must hold a burst.
BACKLOG = 4096
# A client that connects and then says nothing is dropped after this long.
HANDSHAKE_TIMEOUT_S = 10.0


@runtime_checkable
class Gate(Protocol):
    """A handler that caps its connections: asked before the TLS handshake, so a
    connection over the cap is closed before it costs a handshake and its buffers."""

    def admit(self, client: str) -> bool:
        """Take a place for a connection from ``client`` (an address); False: none."""
        ...

    def leave(self, client: str) -> None:
        """Give back the place ``admit`` took."""
        ...


class Listener:
    """A TCP (optionally TLS) server on ``host:port`` running ``handler`` per client."""

    def __init__(self, host: str, port: int, handler: Handler,
                 tls: ssl.SSLContext | None = None, *, reuse_port: bool = False) -> None:
        self.host, self.port = host, port
        self._handler = handler
        self._tls = tls
        self._reuse_port = reuse_port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Bind and listen; raises ``OSError`` when the port cannot be bound."""
        # A gated handler's TLS starts once the connection is admitted (``_serve``).
        tls = None if isinstance(self._handler, Gate) else self._tls
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, ssl=tls, backlog=BACKLOG,
            reuse_address=True, reuse_port=self._reuse_port or None,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S if tls else None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        gate = self._handler if isinstance(self._handler, Gate) else None
        client = str((writer.get_extra_info("peername") or ("",))[0])
        admitted = False
        try:
            if gate is not None:
                if not gate.admit(client):
                    writer.transport.abort()  # over the cap: no handshake, no buffers
                    return
                admitted = True
                if self._tls is not None:
                    await writer.start_tls(self._tls,
                                           ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass  # the client went away or spoke nonsense: its problem, not the service's
        except asyncio.CancelledError:
            # ``stop`` ends open connections by cancelling them. The task ends here
            # normally: on Python 3.11 asyncio's own done-callback for a connection task
            # that ends cancelled logs a traceback on the serve console.
            pass
        finally:
            if admitted and gate is not None:
                gate.leave(client)
            self._clients.discard(task)
            writer.close()

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await cancel_all(list(self._clients))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)

    @property
    def running(self) -> bool:
        return self._server is not None
