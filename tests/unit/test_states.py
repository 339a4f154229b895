"""The state tables of runbooks, steps and services (``domain.states``): every legal
move is accepted, every other one refused with an internal error."""

from __future__ import annotations

from enum import StrEnum
from itertools import product

import pytest

from uccerts.domain.purposes import Role, ServiceKind, service_of
from uccerts.domain.states import (
    RUNBOOK,
    SERVICE,
    STEP,
    RunbookState,
    ServiceState,
    StepState,
    Transitions,
)
from uccerts.errors import IllegalTransition, UccertsError
from uccerts.runtime.ports import NodePlan
from uccerts.runtime.supervisor import Instance

TABLES: list[tuple[Transitions[StrEnum], type[StrEnum]]] = [
    (RUNBOOK, RunbookState), (STEP, StepState), (SERVICE, ServiceState)]  # type: ignore[list-item]

LEGAL = {
    "runbook": {
        ("planned", "running"),
        ("running", "running"), ("running", "waiting"), ("running", "done"),
        ("running", "failed"),
        ("waiting", "running"), ("failed", "running"),
    },
    "runbook step": {
        ("pending", "running"),
        ("running", "running"), ("running", "pending"), ("running", "done"),
        ("running", "failed"),
        ("failed", "running"),
    },
    "service": {
        ("NOT ACTIVATED", "STOPPED"),
        ("STOPPED", "STARTING"), ("STOPPED", "STOPPING"), ("STOPPED", "NOT ACTIVATED"),
        ("STARTING", "STARTED"), ("STARTING", "STOPPED"),
        ("STARTED", "STOPPING"),
        ("STOPPING", "STOPPED"),
    },
}


@pytest.mark.parametrize(("table", "states"), TABLES, ids=lambda t: getattr(t, "what", ""))
def test_every_pair_of_states_is_accepted_exactly_when_the_table_says(
        table: Transitions[StrEnum], states: type[StrEnum]) -> None:
    assert set(table.moves) == set(states)  # every state has its row, terminal ones too
    accepted = set()
    for current, new in product(states, repeat=2):
        if table.allows(current, new):
            assert table.check(current, new) is new
            accepted.add((current.value, new.value))
        else:
            with pytest.raises(IllegalTransition) as refused:
                table.check(current, new)
            err = refused.value
            assert err.code == "illegal-state-transition" and err.exit_code == 3
            assert f"from {current} to {new}" in err.message and table.what in err.message
            assert "bug" in (err.fix or "")
    assert accepted == LEGAL[table.what]


@pytest.mark.parametrize(("table", "current", "new"), [
    (RUNBOOK, RunbookState.DONE, RunbookState.RUNNING),  # a done runbook never runs again
    (RUNBOOK, RunbookState.PLANNED, RunbookState.DONE),
    (RUNBOOK, RunbookState.WAITING, RunbookState.FAILED),
    (STEP, StepState.DONE, StepState.RUNNING),  # a done step is never run again
    (STEP, StepState.PENDING, StepState.DONE),
    (SERVICE, ServiceState.STARTED, ServiceState.STARTING),
    (SERVICE, ServiceState.NOT_ACTIVATED, ServiceState.STARTED),
    (SERVICE, ServiceState.STARTED, ServiceState.NOT_ACTIVATED),
])
def test_illegal_moves_are_internal_errors(table: Transitions[StrEnum], current: StrEnum,
                                           new: StrEnum) -> None:
    with pytest.raises(IllegalTransition) as refused:
        table.check(current, new)
    assert isinstance(refused.value, UccertsError)
    assert refused.value.http_status == 500
    assert str(current) in refused.value.detail or "none" in refused.value.detail


def test_stored_strings_are_the_state_values() -> None:
    # No migration: the enums compare equal to the strings stored before them.
    assert [s.value for s in RunbookState] == ["planned", "running", "waiting", "done",
                                               "failed"]
    assert [s.value for s in StepState] == ["pending", "running", "done", "failed"]
    assert ServiceState("NOT ACTIVATED") is ServiceState.NOT_ACTIVATED
    assert RunbookState.DONE == "done"  # type: ignore[comparison-overlap]
    assert StepState("running") is StepState.RUNNING


def test_a_service_instance_moves_only_as_the_table_allows() -> None:
    plan = NodePlan("cucm-pub", "127.0.0.1", Role.PUBLISHER, frozenset({"Cisco Tomcat"}))
    inst = Instance(plan, service_of(ServiceKind.TOMCAT), ServiceState.STOPPED)
    for state in (ServiceState.STARTING, ServiceState.STARTED, ServiceState.STOPPING,
                  ServiceState.STOPPED):
        inst.move(state)
        assert inst.state is state
    with pytest.raises(IllegalTransition):
        inst.move(ServiceState.STARTED)  # never without STARTING
    assert inst.state is ServiceState.STOPPED
