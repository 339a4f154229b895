"""A node's ASGI app, served by that node's Cisco Tomcat: the console at ``/``, the
native API at ``/api/v1`` and the appliance-compatible certmgr API at
``/platformcom/api/v1/certmgr/config``.

The faces are siblings that know nothing of each other; this module is the one place
that puts them together, over the context they share (``uccerts.http``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from uccerts.api.native import create_native
from uccerts.api.platformcom import COMPAT_BASE, create_compat
from uccerts.http.context import AppContext
from uccerts.http.limits import BodyLimit
from uccerts.http.security import Logins
from uccerts.web.views import create_console

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from uccerts.bootstrap import Services
    from uccerts.config import Settings
    from uccerts.domain.control import ClusterControl


def create_app(services: Services, node: str, control: ClusterControl | None = None,
               *, settings: Settings | None = None, logins: Logins | None = None
               ) -> ASGIApp:
    """The console and both APIs of ``node`` (pages and APIs act on it unless a
    request names another node). ``settings``: the home, for what needs its files
    (the lab CA of a runbook started from the console). ``logins``: the login
    throttle and password checks shared with the other nodes' apps (own ones if
    None)."""
    ctx = AppContext(services=services, node=node, control=control, settings=settings,
                     logins=logins or Logins())
    console: FastAPI = create_console(ctx)
    console.mount("/api/v1", create_native(ctx))
    console.mount(COMPAT_BASE, create_compat(ctx))
    return BodyLimit(console)
