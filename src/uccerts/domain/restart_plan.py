"""Which services restart where, in which order, after a certificate change (§8, §10)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from uccerts.domain.model import Cluster, Node
from uccerts.domain.purposes import Purpose, Role, restart_rule, service_of

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
    rule = restart_rule(purpose)
    names = [service_of(kind).name for kind in rule.services]
    restarts = [
        Restart(node.hostname, name)
        for node in order_nodes(changed)
        for name in names
        if name in node.services  # only services activated on the node
    ]
    return RestartPlan(
        restarts=tuple(restarts),
        ctl_update_first=cluster.security_mode == 1 and rule.ctl_update_first,
        reset_phones=rule.reset_phones,
    )
