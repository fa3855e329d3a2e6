"""The per-supplier circuit breaker, as plain state transitions (the `supplier_circuit` entity runs them).

    closed    --N transient failures within the window-->  open
    open      --the cool-down has passed, someone asks-->   half_open (that caller holds the probe)
    half_open --the probe succeeds-->                       closed
    half_open --the probe fails-->                          open (a new cool-down)
    half_open --the probe never reports (lease expires)-->  the next caller holds the probe

A success reported in any state closes the circuit: the supplier answered. Only transient failures (what
the retry policy retries: 5xx, timeouts, rate limits) are reported as failures; a business outcome (sold
out, no route, declined) is an answer, so it is a success to the breaker.

Every time comes from the caller (an orchestrator's `current_utc_datetime`), never from a clock here: the
entity is then as deterministic as its inputs, and the test harness's virtual time drives it. So is the
policy: each caller sends the snapshot its booking started with, and the entity keeps no settings.

Never stuck open: an open circuit hands out a probe to the first caller after the cool-down; a probe
holder that is killed, cancelled or never reports loses the probe when its lease (one cool-down) ends;
a state that cannot be read (an older breaker's, a damaged one) is read as closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationError

from booking.wire import WireModel

CIRCUIT_ENTITY = "supplier_circuit"
# What a caller in half-open waits before asking again while another holds the probe: a probe usually
# answers within a second or two, so waiting out the whole lease would cost a cool-down for nothing.
HALF_OPEN_RECHECK = timedelta(seconds=2)


class CircuitPolicy(WireModel):
    """The breaker's settings, snapshotted into a booking's input like the retry policy."""

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    window_seconds: int = Field(default=60, gt=0, le=86_400)
    cooldown_seconds: int = Field(default=30, gt=0, le=86_400)

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)

    @property
    def cooldown(self) -> timedelta:
        return timedelta(seconds=self.cooldown_seconds)


class CircuitStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Verdict(StrEnum):
    GO = "go"  # closed: call the supplier
    PROBE = "probe"  # the cool-down is over: this caller's call is the one probe
    WAIT = "wait"  # open, or another caller holds the probe: do not call before `retry_at`


class CircuitState(WireModel):
    """What the entity stores. `probe_at`: when open, the time a probe may go; when half-open, the end
    of the probe holder's lease."""

    status: CircuitStatus = CircuitStatus.CLOSED
    failures: list[datetime] = Field(default_factory=list)  # recent transient failures, oldest first
    opened_at: datetime | None = None
    probe_at: datetime | None = None

    @classmethod
    def load(cls, raw: Any) -> CircuitState:
        """The stored state; closed when there is none or it cannot be read (an older breaker's
        state, say): forgetting failures is safe, a circuit stuck open is not."""
        if raw is None:
            return cls()
        try:
            state = cls.from_wire(raw)
        except (ValidationError, ValueError, TypeError):
            return cls()
        if state.status is not CircuitStatus.CLOSED and state.probe_at is None:
            return cls()  # open without a probe time could never close
        return state

    def recent_failures(self, now: datetime, policy: CircuitPolicy) -> int:
        return sum(1 for at in self.failures if at > now - policy.window)


class CircuitAsk(WireModel):
    """`ask`: may the caller call the supplier now? `then` says what the caller does when told to wait
    (`skip` to a fallback, or `wait`): the entity does not need it, the booking's timeline reads it."""

    now: datetime
    policy: CircuitPolicy = CircuitPolicy()
    then: str = "wait"


class CircuitReport(WireModel):
    """`report`: how a call went. `ok`: the supplier answered (a business outcome included); `probe`: the
    call was the probe the breaker handed out; `then` as for `CircuitAsk`."""

    now: datetime
    policy: CircuitPolicy = CircuitPolicy()
    ok: bool
    probe: bool = False
    then: str = "wait"


class Decision(WireModel):
    """The entity's answer to either operation: the verdict for the caller and the circuit as it is now."""

    verdict: Verdict
    status: CircuitStatus
    failures: int = 0
    retry_at: datetime | None = None


def ask(state: CircuitState, request: CircuitAsk) -> tuple[CircuitState, Decision]:
    now, policy = request.now, request.policy
    failures = state.recent_failures(now, policy)
    if state.status is CircuitStatus.CLOSED:
        return state, Decision(verdict=Verdict.GO, status=state.status, failures=failures)
    assert state.probe_at is not None  # load() guarantees it for open and half-open
    if now >= state.probe_at:
        # Open and cooled down, or half-open with a lapsed lease: this caller probes, holding the probe
        # for one cool-down at most.
        lease = now + policy.cooldown
        probing = state.model_copy(update={"status": CircuitStatus.HALF_OPEN, "probe_at": lease})
        return probing, Decision(verdict=Verdict.PROBE, status=probing.status, failures=failures)
    retry_at = state.probe_at
    if state.status is CircuitStatus.HALF_OPEN:
        retry_at = min(state.probe_at, now + HALF_OPEN_RECHECK)
    return state, Decision(verdict=Verdict.WAIT, status=state.status, failures=failures, retry_at=retry_at)


def peek(state: CircuitState, request: CircuitAsk) -> tuple[CircuitState, Decision]:
    """`peek`: whether the circuit is closed, changing nothing (so never handing out the probe). A step
    asks its fallback's circuit this way beside reporting its own failure: when that report sends it to
    the fallback, a closed fallback circuit lets its first call go without another round trip."""
    failures = state.recent_failures(request.now, request.policy)
    if state.status is CircuitStatus.CLOSED:
        return state, Decision(verdict=Verdict.GO, status=state.status, failures=failures)
    held = Decision(verdict=Verdict.WAIT, status=state.status, failures=failures, retry_at=state.probe_at)
    return state, held


def report(state: CircuitState, request: CircuitReport) -> tuple[CircuitState, Decision]:
    now, policy = request.now, request.policy
    if request.ok:
        closed = CircuitState()
        return closed, Decision(verdict=Verdict.GO, status=closed.status)
    if state.status is CircuitStatus.CLOSED:
        recent = [at for at in state.failures if at > now - policy.window] + [now]
        recent = sorted(recent)[-policy.failure_threshold :]
        if len(recent) >= policy.failure_threshold:
            state = opened(now, policy, recent)
        else:
            state = state.model_copy(update={"failures": recent})
    elif state.status is CircuitStatus.HALF_OPEN and request.probe:
        state = opened(now, policy, state.failures)
    # Open, or half-open and not the probe: a call that started before the circuit opened failed late;
    # it changes nothing (it must not put off the probe). The answer never hands out a probe: the caller
    # asks (and so takes it) before its next call.
    failures = state.recent_failures(now, policy)
    if state.status is CircuitStatus.CLOSED:
        return state, Decision(verdict=Verdict.GO, status=state.status, failures=failures)
    waiting = Decision(verdict=Verdict.WAIT, status=state.status, failures=failures, retry_at=state.probe_at)
    return state, waiting


def opened(now: datetime, policy: CircuitPolicy, failures: list[datetime]) -> CircuitState:
    return CircuitState(
        status=CircuitStatus.OPEN, failures=failures, opened_at=now, probe_at=now + policy.cooldown
    )


def run(operation: str, raw_state: Any, raw_input: Any) -> tuple[CircuitState, Decision]:
    """One entity operation on the stored state; `ValueError` for an unknown operation or bad input."""
    state = CircuitState.load(raw_state)
    try:
        if operation == "ask":
            return ask(state, CircuitAsk.from_wire(raw_input))
        if operation == "peek":
            return peek(state, CircuitAsk.from_wire(raw_input))
        if operation == "report":
            return report(state, CircuitReport.from_wire(raw_input))
    except ValidationError as exc:
        raise ValueError(f"bad input for {operation}: {exc.error_count()} error(s)") from None
    raise ValueError(f"unknown operation {operation!r} (ask, peek, report)")
