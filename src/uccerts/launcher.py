"""The ``uccerts`` process: the CLI, handed what it may not import itself.

The CLI is a face beside the console and the APIs, so it does not import them; but
``serve`` runs them in every node's Cisco Tomcat. This module sits above every face
and passes the CLI the factory of a node's app (``uccerts.app``). The factory imports
the app only when a node's Tomcat first needs it: ``decode`` and ``match`` start
without loading FastAPI (benchmarks/decode_cold_start.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uccerts.cli.launch import run as run_cli

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from uccerts.bootstrap import Services
    from uccerts.config import Settings
    from uccerts.http.security import Logins
    from uccerts.services.control import ClusterControl


class NodeApps:
    """Builds each node's app for ``serve``. Every node's app shares one ``Logins``
    (the login throttle and the bound on password checks): a lockout on one node's
    Tomcat holds on the others, and memory is bounded for the whole process. The
    supervisor keeps each node's app across Tomcat restarts, so lockouts outlive them.
    """

    def __init__(self) -> None:
        self._logins: Logins | None = None

    def __call__(self, services: Services, node: str, control: ClusterControl,
                 settings: Settings) -> ASGIApp:
        from uccerts.app import create_app
        from uccerts.http.security import Logins

        if self._logins is None:
            self._logins = Logins()
        return create_app(services, node, control, settings=settings, logins=self._logins)


def run() -> None:
    run_cli(NodeApps())
