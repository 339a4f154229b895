"""The audit trail: who changed what, when, from where, and how it ended."""

from __future__ import annotations

from typing import Any

from uccerts.domain.model import AuditEntry
from uccerts.errors import UsageError
from uccerts.services.context import Context, resolve_cluster
from uccerts.services.views import iso


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {"at": iso(entry.at), "actor": entry.actor, "source": entry.source,
            "cluster": entry.cluster, "node": entry.node, "purpose": entry.purpose,
            "action": entry.action, "outcome": entry.outcome, "detail": entry.detail}


class AuditService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def entries(self, limit: int = 100) -> list[AuditEntry]:
        """Newest first, for the selected (or only) cluster."""
        if not 1 <= limit <= 10_000:
            raise UsageError(f"limit {limit} is out of range", code="invalid-limit",
                             fix="Give a limit from 1 to 10000")
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster)
            return uow.audit.list(cluster.name, limit)

    def change_marker(self, depth: int) -> tuple[AuditEntry, ...]:
        """The newest ``depth`` entries of every cluster: every change is written with
        its audit entry in the same transaction, so while these are unchanged nothing
        changed (a cache's validator; ``api/native_listing``)."""
        with self.ctx.read() as uow:
            return tuple(uow.audit.list(None, depth))

    def refused(self, action: str, *, purpose: str = "", detail: str = "") -> None:
        """Record that the selected (or only) cluster refused ``action``, in its own
        transaction (a face that refuses before any use case wrote anything)."""
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster).name
        self.ctx.audit_refusal(cluster, action, purpose=purpose, detail=detail)
