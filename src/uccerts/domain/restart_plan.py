"""Which services restart where, in which order, after a certificate change (§8, §10)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from uccerts.domain.model import Cluster, Node
from uccerts.domain.purposes import (
    CTL_FAMILIES,
    PHONE_RESET_FAMILIES,
    RESTARTS,
    Purpose,
    Role,
)

_ROLE_ORDER = {Role.PUBLISHER: 0, Role.SUBSCRIBER: 1, Role.IMP: 2}


@dataclass(frozen=True)
class Restart:
    node: str
    service: str


@dataclass(frozen=True)
class RestartPlan:
    restarts: tuple[Restart, ...]
    ctl_update_first: bool  # mixed mode: `utils ctl update CTLFile` before the restarts
    reset_phones: bool  # then reset every phone and wait until all re-register


def order_nodes(nodes: Iterable[Node]) -> list[Node]:
    """Publisher first, then subscribers one at a time, then IM and Presence nodes."""
    return sorted(nodes, key=lambda n: _ROLE_ORDER[n.role])


def plan_restarts(cluster: Cluster, purpose: Purpose, changed: Sequence[Node]) -> RestartPlan:
    services = RESTARTS.get(purpose.family, ())
    restarts = [
        Restart(node.hostname, name)
        for node in order_nodes(changed)
        for name in services
        if name in node.services  # only services activated on the node
    ]
    family = purpose.family
    return RestartPlan(
        restarts=tuple(restarts),
        ctl_update_first=cluster.security_mode == 1 and family in CTL_FAMILIES,
        reset_phones=family in PHONE_RESET_FAMILIES,
    )
