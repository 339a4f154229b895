"""The audit reads and writes faces used to do themselves: the listing cache's change
marker and a refusal recorded before any use case ran."""

from __future__ import annotations

from clusters import TOPOLOGY, KeyPool
from uccerts.bootstrap import build_from_uow
from uccerts.storage.memory import MemoryStore


def test_change_marker_moves_with_every_audited_change() -> None:
    services = build_from_uow(MemoryStore().uow, keygen=KeyPool())
    services.clusters.init(TOPOLOGY)
    before = services.audit.change_marker(20)
    assert before == services.audit.change_marker(20)  # nothing changed
    services.acting_as("alice", "web").audit.refused("runbook start", purpose="tomcat",
                                                     detail="phones-not-registered")
    after = services.audit.change_marker(20)
    assert after != before
    newest = after[0]
    assert (newest.actor, newest.source, newest.action, newest.outcome, newest.purpose,
            newest.detail) == ("alice", "web", "runbook start", "refused", "tomcat",
                               "phones-not-registered")
    assert newest.cluster == services.clusters.show()[0].name
    assert len(services.audit.change_marker(1)) == 1
