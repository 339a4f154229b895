"""The lab's stand-in for a Disaster Recovery System (DRF) backup in progress.

uccerts runs no real backup. ``uccerts drf backup start`` marks one as running for the
cluster and ``stop`` marks it finished, so that the guard of domain.md §10 ("ipsec
while a backup or restore runs") can be seen refusing, and lifted with
``--ignore-backup``, in the lab. The mark is the setting ``backup-running/<cluster>``
(``b"1"`` while running, ``b"0"`` after), which the runbook service reads when it plans;
when it was set is kept beside it. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from uccerts.errors import Refused
from uccerts.services.context import Context, resolve_cluster
from uccerts.services.views import iso

RUNNING, IDLE = b"1", b"0"


def flag_key(cluster: str) -> str:
    return f"backup-running/{cluster}"


def since_key(cluster: str) -> str:
    return f"backup-running-since/{cluster}"


@dataclass(frozen=True)
class BackupStatus:
    cluster: str
    running: bool
    since: dt.datetime | None  # when the running backup started; None when idle
    changed: bool = False  # start/stop: False when it already was so

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "running": self.running,
                "since": iso(self.since) if self.since else None, "changed": self.changed}


class DrfService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def status(self) -> BackupStatus:
        with self.ctx.read() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster).name
            running = uow.settings.get(flag_key(cluster)) == RUNNING
            since = uow.settings.get(since_key(cluster)) if running else None
        return BackupStatus(cluster, running, _parse(since))

    def start(self) -> BackupStatus:
        """Mark a backup as running; refused (backup-already-running) when one is."""
        now = self.ctx.clock()
        with self.ctx.uow() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster).name
            if uow.settings.get(flag_key(cluster)) == RUNNING:
                uow.rollback()
                self.ctx.audit_refusal(cluster, "drf backup start",
                                       detail="a backup is already running")
                raise Refused(f"A backup of cluster {cluster} is already running",
                              code="backup-already-running",
                              fix="Wait for it, or stop that backup first")
            uow.settings.put(flag_key(cluster), RUNNING)
            uow.settings.put(since_key(cluster), iso(now).encode("ascii"))
            self.ctx.audit(uow, cluster, "drf backup start", "ok",
                           detail="backup marked running (lab stand-in)")
            uow.commit()
        return BackupStatus(cluster, True, now, changed=True)

    def stop(self) -> BackupStatus:
        """Mark the backup as finished (nothing changes when none runs)."""
        with self.ctx.uow() as uow:
            cluster = resolve_cluster(uow, self.ctx.cluster).name
            changed = uow.settings.get(flag_key(cluster)) == RUNNING
            if changed:
                uow.settings.put(flag_key(cluster), IDLE)
            self.ctx.audit(uow, cluster, "drf backup stop", "ok",
                           detail="backup marked finished" if changed
                           else "no backup was running")
            uow.commit()
        return BackupStatus(cluster, False, None, changed=changed)


def _parse(raw: bytes | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw.decode("ascii").replace("Z", "+00:00"))
    except (UnicodeDecodeError, ValueError):
        return None
