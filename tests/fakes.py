"""An in-memory ``ClusterControl``: services that serve what the store held when they
last (re)started, and a phone fleet counted by state, with knobs for failure.

It counts what a runbook must never do twice (restarts, phone resets), so tests can
assert each happened exactly once, and it can stand in for a cluster that is slow or
broken: restarts that time out, phones that do not come back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from uccerts.domain.control import (
    ALL_PHONES,
    DEFAULT_TIMEOUT_S,
    SERVICE_TIMEOUT_S,
    WAIT_TIMEOUT_S,
    Emit,
    HistorySample,
    PhoneRow,
    PhonesChange,
    PhonesStatus,
    PhoneState,
    RunningService,
    ServiceAction,
    ServiceResult,
    ServiceStatus,
    WaitResult,
    Who,
    phone_counts,
)
from uccerts.domain.purposes import SERVICES, service
from uccerts.domain.states import ServiceState
from uccerts.errors import ControlTimeout, InvalidInput, NotFound, Refused, UsageError

# node -> {purpose: SHA-256 of the identity the store holds now}
Installed = Callable[[str], Mapping[str, str]]
STARTED, STOPPED = ServiceState.STARTED, ServiceState.STOPPED
NOT_ACTIVATED = ServiceState.NOT_ACTIVATED


@dataclass
class _Phone:
    mac: str
    node: str
    state: PhoneState = PhoneState.REGISTERED
    reason: str = ""


@dataclass
class FakeCluster:
    """``nodes``: each node's activated services; ``installed`` reads the store."""

    nodes: Mapping[str, Sequence[str]]
    installed: Installed
    phones_per_node: int = 0
    # knobs
    restart_timeouts: int = 0  # the next N restarts time out (nothing changes)
    lost_phones: int = 0  # after a reset, N phones do not register again
    lost_reason: str = "ITL signature verification failed"
    # what happened
    calls: list[tuple[str, Who]] = field(default_factory=list)
    restarts: Counter[tuple[str, str]] = field(default_factory=Counter)
    resets: int = 0
    _states: dict[tuple[str, str], str] = field(default_factory=dict)
    _served: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _phones: dict[str, _Phone] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node, activated in self.nodes.items():
            for svc in SERVICES:
                on = svc.name in activated
                self._states[(node, svc.name)] = STARTED if on else NOT_ACTIVATED
                self._served[(node, svc.name)] = self._current(node, svc.name) if on else None
            for _ in range(self.phones_per_node):
                mac = f"{len(self._phones) + 1:012X}"
                self._phones[mac] = _Phone(mac, node)

    # ------------------------------------------------------------ helpers

    def _node(self, node: str) -> str:
        if node not in self.nodes:
            raise NotFound(f"Unknown node '{node}'", code="unknown-node")
        return node

    def _current(self, node: str, name: str) -> str | None:
        purpose = service(name).certificate
        return self.installed(node).get(purpose) if purpose else None

    def _state(self, node: str, name: str) -> RunningService:
        svc = service(name)
        state = self._states[(node, svc.name)]
        return RunningService(svc.name, state, svc.ports[0] if svc.ports else None,
                            tuple(svc.ports) if state == STARTED else (),
                            self._served[(node, svc.name)] if state == STARTED else None)

    def served(self, node: str, name: str) -> str | None:
        return self._served[(node, service(name).name)]

    def _status(self) -> PhonesStatus:
        by_node: dict[str, dict[PhoneState, int]] = {}
        for p in self._phones.values():
            counts = by_node.setdefault(p.node, phone_counts())
            counts[p.state] += 1
        return PhonesStatus(len(self._phones),
                            phone_counts(Counter(p.state for p in self._phones.values())),
                            by_node,
                            tuple(PhoneRow(p.mac, p.node, p.state, p.reason)
                                  for p in self._phones.values()))

    # ------------------------------------------------------------ the port

    async def service_status(self, who: Who, node: str, *,
                             timeout: float = DEFAULT_TIMEOUT_S) -> tuple[ServiceStatus, ...]:
        self.calls.append(("service_status", who))
        node = self._node(node)
        rows = []
        for svc in SERVICES:
            state = self._state(node, svc.name)
            now = self._current(node, svc.name)
            rows.append(ServiceStatus(state, now, state.state == STARTED
                                      and now != state.certificate_sha256))
        return tuple(rows)

    async def service(self, who: Who, action: ServiceAction, node: str, name: str, *,
                      on_event: Emit | None = None, timeout: float = SERVICE_TIMEOUT_S
                      ) -> ServiceResult:
        self.calls.append((f"service {action.value}", who))
        node, name = self._node(node), service(name).name
        key = (node, name)
        if self._states[key] == NOT_ACTIVATED and action is not ServiceAction.ACTIVATE:
            raise Refused(f"{name} is not activated on {node}", code="service-not-activated")
        if action is ServiceAction.RESTART and self.restart_timeouts:
            self.restart_timeouts -= 1
            raise ControlTimeout(f"{name} on {node} did not finish restarting in "
                                 f"{timeout:g} s", fix="Look at its state, then resume")
        events: list[str] = []

        def say(state: str) -> None:
            events.append(f"{name}[{state}]")
            if on_event is not None:
                on_event(events[-1])

        if action in (ServiceAction.RESTART, ServiceAction.STOP, ServiceAction.DEACTIVATE):
            say("STOPPING")
            say("STOPPED")
            self._states[key], self._served[key] = STOPPED, None
        if action in (ServiceAction.RESTART, ServiceAction.START, ServiceAction.ACTIVATE):
            say("STARTING")
            say("STARTED")
            self._states[key], self._served[key] = STARTED, self._current(node, name)
        if action is ServiceAction.DEACTIVATE:
            self._states[key] = NOT_ACTIVATED
        if action is ServiceAction.RESTART:
            self.restarts[key] += 1
        return ServiceResult(action, self._state(node, name), tuple(events))

    async def served_certificate(self, who: Who, node: str, port: int, *,
                                 timeout: float = DEFAULT_TIMEOUT_S) -> str | None:
        node = self._node(node)
        for svc in SERVICES:
            if self._states[(node, svc.name)] == STARTED and port in svc.ports:
                return self._served[(node, svc.name)]
        return None

    async def phones_status(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                            ) -> PhonesStatus:
        return self._status()

    async def phones_history(self, who: Who, *, timeout: float = DEFAULT_TIMEOUT_S
                             ) -> tuple[HistorySample, ...]:
        return (HistorySample("2026-01-01T00:00:00Z", self._status().by_state),)

    async def reset_phones(self, who: Who, node: str | None = None, *,
                           wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                           ) -> PhonesChange:
        self.calls.append(("reset_phones", who))
        chosen = [p for p in self._phones.values() if node is None or p.node == node]
        for phone in chosen:
            phone.state, phone.reason = PhoneState.RESETTING, ""
        self.resets += 1
        waited = await self.wait_registration(who, wait) if wait else None
        return PhonesChange("reset", len(chosen), waited)

    async def delete_itl(self, who: Who, macs: Sequence[str] | str, *,
                         wait: float | None = None, timeout: float = DEFAULT_TIMEOUT_S
                         ) -> PhonesChange:
        if macs == ALL_PHONES:
            chosen = list(self._phones.values())
        elif isinstance(macs, str) or not macs:
            raise UsageError("Say which phones", code="phones-none-selected")
        else:
            chosen = []
            for mac in macs:
                if mac.upper() not in self._phones:
                    raise InvalidInput(f"No phone with MAC {mac}", code="unknown-phone")
                chosen.append(self._phones[mac.upper()])
        for phone in chosen:
            phone.state, phone.reason = PhoneState.RESETTING, ""
        waited = await self.wait_registration(who, wait) if wait else None
        return PhonesChange("deleted", len(chosen), waited)

    async def wait_registration(self, who: Who, wait: float = WAIT_TIMEOUT_S
                                ) -> WaitResult:
        self.calls.append(("wait_registration", who))
        lost = self.lost_phones
        for phone in self._phones.values():
            if phone.state is PhoneState.RESETTING:
                if lost:
                    lost -= 1
                    phone.state, phone.reason = PhoneState.UNREGISTERED, self.lost_reason
                else:
                    phone.state = PhoneState.REGISTERED
        return WaitResult(True, self._status())
