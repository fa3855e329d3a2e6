"""The circuit breaker's transitions (booking/circuit.py), one operation at a time, on the caller's clock."""

from __future__ import annotations

import datetime as dt

import pytest

from booking.circuit import (
    HALF_OPEN_RECHECK,
    CircuitAsk,
    CircuitPolicy,
    CircuitReport,
    CircuitState,
    CircuitStatus,
    Verdict,
    ask,
    peek,
    report,
    run,
)

T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
POLICY = CircuitPolicy(failure_threshold=3, window_seconds=60, cooldown_seconds=30)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def fail(state: CircuitState, seconds: float, *, probe: bool = False) -> CircuitState:
    state, _ = report(state, CircuitReport(now=at(seconds), policy=POLICY, ok=False, probe=probe))
    return state


def asked(state: CircuitState, seconds: float) -> tuple[CircuitState, Verdict, dt.datetime | None]:
    state, decision = ask(state, CircuitAsk(now=at(seconds), policy=POLICY))
    return state, decision.verdict, decision.retry_at


def opened_at(seconds: float) -> CircuitState:
    state = CircuitState()
    for _ in range(POLICY.failure_threshold):
        state = fail(state, seconds)
    assert state.status is CircuitStatus.OPEN
    return state


def test_closed_lets_calls_go_and_opens_after_n_failures_within_the_window() -> None:
    state = CircuitState()
    assert asked(state, 0)[1] is Verdict.GO
    state = fail(state, 0)
    state = fail(state, 10)
    assert state.status is CircuitStatus.CLOSED and state.recent_failures(at(10), POLICY) == 2
    state, decision = report(state, CircuitReport(now=at(20), policy=POLICY, ok=False))
    assert state.status is CircuitStatus.OPEN
    assert (state.opened_at, state.probe_at) == (at(20), at(50))
    # The answer to the failure that opened it already says so: the caller need not back off first.
    assert (decision.verdict, decision.status) == (Verdict.WAIT, CircuitStatus.OPEN)
    assert decision.retry_at == at(50)


def test_failures_older_than_the_window_do_not_count() -> None:
    state = fail(fail(CircuitState(), 0), 30)
    state = fail(state, 61)  # the first one is 61 s old now
    assert state.status is CircuitStatus.CLOSED
    assert state.recent_failures(at(61), POLICY) == 2


def test_a_success_closes_and_forgets_the_failures() -> None:
    state = fail(fail(CircuitState(), 0), 1)
    state, decision = report(state, CircuitReport(now=at(2), policy=POLICY, ok=True))
    assert state == CircuitState() and decision.verdict is Verdict.GO
    assert fail(state, 3).status is CircuitStatus.CLOSED  # counting starts again


def test_open_answers_wait_until_the_cool_down_ends() -> None:
    state = opened_at(0)
    state, verdict, retry_at = asked(state, 29)
    assert (verdict, retry_at, state.status) == (Verdict.WAIT, at(30), CircuitStatus.OPEN)


def test_after_the_cool_down_one_caller_probes_and_the_others_wait_while_it_does() -> None:
    state = opened_at(0)
    state, verdict, _ = asked(state, 30)
    assert verdict is Verdict.PROBE and state.status is CircuitStatus.HALF_OPEN
    assert state.probe_at == at(60)  # the probe's lease: one cool-down
    state, verdict, retry_at = asked(state, 31)
    assert verdict is Verdict.WAIT
    assert retry_at == at(31) + HALF_OPEN_RECHECK  # asks again soon: the probe usually answers fast


def test_the_probe_succeeding_closes_the_circuit() -> None:
    state, _, _ = asked(opened_at(0), 30)
    state, decision = report(state, CircuitReport(now=at(31), policy=POLICY, ok=True, probe=True))
    assert state.status is CircuitStatus.CLOSED and decision.verdict is Verdict.GO
    assert asked(state, 31)[1] is Verdict.GO


def test_the_probe_failing_opens_it_again_for_a_new_cool_down() -> None:
    state, _, _ = asked(opened_at(0), 30)
    state = fail(state, 32, probe=True)
    assert state.status is CircuitStatus.OPEN and state.probe_at == at(62)


def test_a_late_failure_from_before_the_circuit_opened_changes_nothing() -> None:
    state = opened_at(0)
    assert fail(state, 10) == state  # open: the probe time is not put off
    probing, _, _ = asked(state, 30)
    assert fail(probing, 31, probe=False) == probing  # half-open: only the probe's failure reopens


def test_a_probe_that_never_reports_loses_the_probe_when_its_lease_ends() -> None:
    """A prober killed, cancelled or stuck: the circuit never stays half-open for good."""
    state, _, _ = asked(opened_at(0), 30)
    assert asked(state, 59)[1] is Verdict.WAIT
    state, verdict, _ = asked(state, 60)
    assert verdict is Verdict.PROBE and state.probe_at == at(90)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "not json",
        {"status": "tripped", "failures": []},  # a status an older breaker used
        {"status": "open"},  # open without a probe time: could never close
        {"state": "OPEN", "count": 7},  # another breaker's shape entirely (extra keys are ignored)
        {"status": "half_open", "probeAt": "yesterday"},
    ],
)
def test_a_state_that_cannot_be_read_is_closed_never_stuck_open(stored: object) -> None:
    state = CircuitState.load(stored)
    assert state.status is CircuitStatus.CLOSED


def test_the_entity_operation_runs_on_wire_state_and_rejects_bad_input() -> None:
    stored = opened_at(0).to_wire()
    state, decision = run("ask", stored, {"now": at(30).isoformat(), "policy": POLICY.to_wire()})
    assert (decision.verdict, state.status) == (Verdict.PROBE, CircuitStatus.HALF_OPEN)
    with pytest.raises(ValueError, match="unknown operation 'reset'"):
        run("reset", stored, {})
    with pytest.raises(ValueError, match="bad input for report"):
        run("report", stored, {"now": "soon"})


def test_a_peek_says_whether_the_circuit_is_closed_and_never_takes_the_probe() -> None:
    closed = fail(CircuitState(), 0)
    state, decision = peek(closed, CircuitAsk(now=at(1), policy=POLICY))
    assert state == closed and (decision.verdict, decision.failures) == (Verdict.GO, 1)
    opened = opened_at(0)
    # Cooled down: an ask would hand this caller the probe; a peek leaves it for the caller that calls.
    state, decision = peek(opened, CircuitAsk(now=at(40), policy=POLICY))
    assert state == opened and decision.verdict is Verdict.WAIT
    assert asked(state, 40)[1] is Verdict.PROBE
    assert run("peek", opened.to_wire(), CircuitAsk(now=at(40), policy=POLICY).to_wire())[0] == opened


def test_a_flapping_supplier_opens_and_closes_the_circuit_and_a_probe_always_comes() -> None:
    """Up and down by turns (each probe's outcome alternating, bursts of failures between): whatever the
    history, an ask at or after the time the circuit names always gets through (a probe or a call)."""
    state, now = CircuitState(), 0.0
    for round_ in range(6):
        for _ in range(POLICY.failure_threshold):  # a burst of failures opens it
            now += 1
            state = fail(state, now)
        assert state.status is CircuitStatus.OPEN and state.probe_at is not None
        now = (state.probe_at - T0).total_seconds()
        state, verdict, _ = asked(state, now)
        assert verdict is Verdict.PROBE
        ok = round_ % 2 == 0
        now += 1
        state, _ = report(state, CircuitReport(now=at(now), policy=POLICY, ok=ok, probe=True))
        if not ok:  # the probe failed: open again for one cool-down, then the next probe
            assert state.status is CircuitStatus.OPEN and state.probe_at == at(now + POLICY.cooldown_seconds)
            now = (state.probe_at - T0).total_seconds()
            state, verdict, _ = asked(state, now)
            assert verdict is Verdict.PROBE
            now += 1
            state, _ = report(state, CircuitReport(now=at(now), policy=POLICY, ok=True, probe=True))
        assert state == CircuitState()  # closed, the failures forgotten
