"""What each kind of service does once it has loaded its material: a table keyed by
``ServiceKind``, one small strategy per kind, instead of tests on service names.

Whether a kind speaks TLS is the catalogue's (``Service.tls``); what it answers past
the handshake, and whom it tells when it starts or stops, is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from uccerts.domain.keys import PrivateKey
from uccerts.domain.purposes import Service, ServiceKind
from uccerts.runtime import endpoints, tftp, tvs
from uccerts.runtime.asgi import App, asgi_handler
from uccerts.runtime.listener import Handler
from uccerts.runtime.ports import Endpoint


class PhoneSide(Protocol):
    """The fleet, as the services see it."""

    def route(self, mac: str) -> tuple[Endpoint, Endpoint] | None: ...

    def knows(self, mac: str) -> bool: ...

    def callmanager_started(self, node: str) -> None: ...

    def callmanager_stopped(self, node: str) -> None: ...


class NoPhones:
    def route(self, mac: str) -> tuple[Endpoint, Endpoint] | None:
        return None

    def knows(self, mac: str) -> bool:
        return False

    def callmanager_started(self, node: str) -> None:
        pass

    def callmanager_stopped(self, node: str) -> None:
        pass


@dataclass(frozen=True)
class Loaded:
    """A service on a node with what it loaded, and what it may talk to."""

    node: str
    service: Service
    certificate: x509.Certificate
    key: PrivateKey
    snapshot: bytes  # what the kind prepared at start (TFTP's files, TVS's set, a chain)
    phones: PhoneSide
    web: Callable[[], App | None]  # the node's ASGI app, if one is to be served


Serve = Callable[[Loaded], Handler]
Notify = Callable[[PhoneSide, str], None]  # (phones, node)


def _quiet(phones: PhoneSide, node: str) -> None:
    pass


@dataclass(frozen=True)
class Behaviour:
    serve: Serve  # the connection handler, built from what was loaded
    started: Notify = _quiet  # after the listeners are up
    stopped: Notify = _quiet  # when it begins to stop


def _tftp_files(s: Loaded) -> Handler:
    return tftp.handler(tftp.TftpFiles.decode(s.snapshot), s.certificate, s.key,
                        s.phones.route)


def _tvs(s: Loaded) -> Handler:
    return tvs.handler(tvs.decode_snapshot(s.snapshot))


def _registrar(s: Loaded) -> Handler:
    return endpoints.registrar(s.phones.knows)


def _web(s: Loaded) -> Handler:
    app = s.web()
    if app is not None:
        return asgi_handler(app)
    return endpoints.status_page(s.node, s.service.name, s.certificate)


def _banner(s: Loaded) -> Handler:
    return endpoints.banner(s.node, s.service.name)


def _callmanager_started(phones: PhoneSide, node: str) -> None:
    phones.callmanager_started(node)


def _callmanager_stopped(phones: PhoneSide, node: str) -> None:
    phones.callmanager_stopped(node)


BEHAVIOURS: dict[ServiceKind, Behaviour] = {
    ServiceKind.TOMCAT: Behaviour(_web),
    # Phones register to a CallManager; they learn when it comes and goes.
    ServiceKind.CALLMANAGER: Behaviour(_registrar, started=_callmanager_started,
                                       stopped=_callmanager_stopped),
    ServiceKind.CTIMANAGER: Behaviour(_banner),
    ServiceKind.TFTP: Behaviour(_tftp_files),
    ServiceKind.TVS: Behaviour(_tvs),
    ServiceKind.CAPF: Behaviour(_banner),
    ServiceKind.DRF_MASTER: Behaviour(_banner),
    ServiceKind.DRF_LOCAL: Behaviour(_banner),
    ServiceKind.XCP_ROUTER: Behaviour(_banner),
}


def behaviour(kind: ServiceKind) -> Behaviour:
    return BEHAVIOURS[kind]
