"""The one port to a running cluster: ``ClusterControl`` and the frozen values it answers.

Two implementations exist today (the local ``serve`` in-process, and the same over its
control socket); a remote appliance reached over REST/SSH/SOAP is the next. So every
method is written for an implementation that is slow, remote and can fail half-way:

- each call names who acts (``Who``) and bounds its own wait (``timeout``, seconds); an
  implementation that does not answer in time raises ``errors.ControlTimeout``;
- results say when they are partial (``PhonesChange.settled`` / ``WaitResult.settled``
  False: the command was given, the phones had not all settled when the wait ended);
- retries: reads are always safe to repeat. ``service`` with START/STOP/ACTIVATE/
  DEACTIVATE is idempotent (an already started service answers its state); RESTART is
  not (each call restarts again) but is safe to repeat after a timeout: the service
  ends up started with the node's current certificate either way. ``reset_phones`` and
  ``delete_itl`` may be repeated: phones simply reset again.

Security mode, the CTL update and SAML SSO change the store, not the running cluster;
they are use cases of ``services.security`` and not part of this port.

Pure: no I/O, no framework.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from uccerts.domain.states import ServiceState

Emit = Callable[[str], None]

DEFAULT_TIMEOUT_S = 30.0
SERVICE_TIMEOUT_S = 600.0  # a restart of a loaded appliance's Tomcat takes minutes
WAIT_TIMEOUT_S = 120.0


class PhoneState(StrEnum):
    REGISTERED = "REGISTERED"
    UNREGISTERED = "UNREGISTERED"
    REJECTED = "REJECTED"
    RESETTING = "RESETTING"


class ServiceAction(StrEnum):
    RESTART = "restart"
    START = "start"
    STOP = "stop"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"


@dataclass(frozen=True)
class Who:
    """Who acts, and from which face: every change is audited with it."""

    actor: str
    source: str = "cli"


@dataclass(frozen=True)
class RunningService:
    """A service on a node as it runs now: what it serves (``certificate_sha256``)."""

    service: str
    state: ServiceState
    port: int | None
    ports: tuple[int, ...] = ()
    certificate_sha256: str | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "state": self.state, "port": self.port,
                "ports": list(self.ports), "certificate_sha256": self.certificate_sha256,
                "warnings": list(self.warnings)}


@dataclass(frozen=True)
class ServiceStatus:
    """A service with what the store holds for it: a started service whose certificate
    changed since it started needs a restart."""

    running: RunningService
    installed_sha256: str | None = None
    restart_needed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**self.running.to_dict(), "installed_sha256": self.installed_sha256,
                "restart_needed": self.restart_needed}


@dataclass(frozen=True)
class ServiceResult:
    """What a service action left: the state after, and the states it went through."""

    action: ServiceAction
    state: RunningService
    events: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return self.state.to_dict()


def phone_counts(values: Mapping[PhoneState, int] | None = None) -> dict[PhoneState, int]:
    """Every state, zero where ``values`` has none."""
    found = values or {}
    return {s: int(found.get(s, 0)) for s in PhoneState}


def _named(counts: Mapping[PhoneState, int]) -> dict[str, int]:
    return {s.value: int(counts.get(s, 0)) for s in PhoneState}


@dataclass(frozen=True)
class PhoneRow:
    mac: str
    node: str
    state: PhoneState
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"mac": self.mac, "node": self.node, "state": self.state.value,
                "reason": self.reason}


@dataclass(frozen=True)
class PhonesStatus:
    total: int
    by_state: Mapping[PhoneState, int]
    by_node: Mapping[str, Mapping[PhoneState, int]] = field(default_factory=dict)
    phones: tuple[PhoneRow, ...] = ()

    @property
    def registered(self) -> int:
        return int(self.by_state.get(PhoneState.REGISTERED, 0))

    @property
    def settled(self) -> bool:
        """No phone resetting and every phone registered."""
        return (self.by_state.get(PhoneState.RESETTING, 0) == 0
                and self.registered == self.total)

    def reasons(self) -> tuple[str, ...]:
        return tuple(sorted({p.reason for p in self.phones if p.reason}))

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_state": _named(self.by_state),
                "by_node": {n: _named(c) for n, c in self.by_node.items()},
                "phones": [p.to_dict() for p in self.phones]}


@dataclass(frozen=True)
class WaitResult:
    """``settled`` False: the wait ended with phones still resetting (partial)."""

    settled: bool
    status: PhonesStatus

    def to_dict(self) -> dict[str, Any]:
        return {"settled": self.settled, "status": self.status.to_dict()}


@dataclass(frozen=True)
class PhonesChange:
    """Phones told to reset (``what``: "reset") or to erase their ITL ("deleted"); with
    the wait's outcome when the caller asked to wait."""

    what: str
    count: int
    waited: WaitResult | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.what: self.count}
        if self.waited is not None:
            out.update(self.waited.to_dict())
        return out


@dataclass(frozen=True)
class HistorySample:
    at: str
    by_state: Mapping[PhoneState, int]

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "by_state": _named(self.by_state)}


ALL_PHONES = "all"


class ClusterControl(Protocol):
    """The running cluster, as faces and use cases drive it (see the module text for
    timeouts, partial results and retries)."""

    async def service_status(self, who: Who, node: str, *,
                             timeout: float = DEFAULT_TIMEOUT_S
                             ) -> tuple[ServiceStatus, ...]: ...

    async def service(self, who: Who, action: ServiceAction, node: str, service: str, *,
                      on_event: Emit | None = None, timeout: float = SERVICE_TIMEOUT_S
                      ) -> ServiceResult: ...

    async def served_certificate(self, who: Who, node: str, port: int, *,
                                 timeout: float = DEFAULT_TIMEOUT_S) -> str | None:
        """SHA-256 of the certificate a started service serves on ``port`` of ``node``
        (None: nothing started listens there)."""
        ...

    async def phones_status(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                            ) -> PhonesStatus: ...

    async def phones_history(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                             ) -> tuple[HistorySample, ...]: ...

    async def reset_phones(self, who: Who, node: str | None = None, *,
                           wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                           ) -> PhonesChange:
        """Reset every phone (or ``node``'s); ``wait``: also wait that long for them."""
        ...

    async def delete_itl(self, who: Who, macs: Sequence[str] | str, *,
                         wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                         ) -> PhonesChange:
        """Erase the ITL/CTL of ``macs`` (or ``ALL_PHONES``), then reset them."""
        ...

    async def wait_registration(self, who: Who, wait: float = WAIT_TIMEOUT_S
                                ) -> WaitResult:
        """Wait up to ``wait`` seconds until no phone is resetting."""
        ...
