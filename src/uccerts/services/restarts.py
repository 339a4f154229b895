"""What to restart after a change, as the services report it to every face."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from uccerts.domain.model import Cluster, Node
from uccerts.domain.purposes import Purpose
from uccerts.domain.restart_plan import plan_restarts


@dataclass(frozen=True)
class RestartNeeded:
    node: str
    service: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "service": self.service}


def restarts_for(cluster: Cluster, purpose: Purpose, nodes: Sequence[Node]
                 ) -> tuple[RestartNeeded, ...]:
    plan = plan_restarts(cluster, purpose, nodes)
    return tuple(RestartNeeded(r.node, r.service) for r in plan.restarts)
