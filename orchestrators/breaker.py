"""A trip step's side of the supplier circuit breaker (`booking.circuit`, the `supplier_circuit` entity).

Before each attempt the step asks the supplier's circuit (an entity call: recorded in history, so a
replay takes the same decision); after it, the step reports how it went:

- a failure is a *call*: its answer says whether the circuit is now open, so the step moves on at once
  instead of sleeping a backoff first: to its fallback, or to asking for the probe time (the failure of
  a step's last attempt is a signal: the step gives up whatever the answer);
- a success is a *signal* (nothing to wait for), and only when it can change something (the circuit
  had failures, or this call was the probe): on the happy path a step costs one entity call.

A step with a fallback (the flight) also `peek`s at its fallback's circuit (the rail's) beside each failure
report, both answers awaited together: when the report sends the trip to the train and the rail's circuit
is closed, the train's first call goes without asking again. That is one round trip less on an outage's
path; a peek changes nothing in the circuit, so it never takes the probe for a train that is not called.

Told to wait, a step with a fallback (the flight: the train) skips at once; the others wait on a durable
timer until the probe time, raced against the traveller's cancel like every backoff. Undo, reclaim and
refund steps never ask: a circuit never keeps a booking from being undone. Every skip follows an
`ask` or a failure's `report` at once, and every wait an `ask`, each naming what the step does when held
back (`then`), so the history shows which message held a step back (clients/timeline.py reads it there:
an entity's answers are not in the history the status API shows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df

from booking.circuit import (
    CIRCUIT_ENTITY,
    CircuitAsk,
    CircuitPolicy,
    CircuitReport,
    CircuitStatus,
    Decision,
    Verdict,
)
from orchestrators.steps import Clearance, Steps, cancel_timer, log


def at_least(version: str, wanted: tuple[int, ...]) -> bool:
    """Whether an orchestration version (`"2.0"`) is at least `wanted`; blank or not numeric is older."""
    try:
        parts = tuple(int(part) for part in version.split("."))
    except ValueError:
        return False
    return bool(version) and parts >= wanted


# The first orchestration version whose trips consult the breaker (README: changing an orchestrator safely).
BREAKER_SINCE = (2, 0)


def breaker_on(context: df.DurableOrchestrationContext) -> bool:
    return at_least(context.version or "", BREAKER_SINCE)


@dataclass
class Circuit:
    """One step's view of one supplier's circuit."""

    context: df.DurableOrchestrationContext
    supplier: str
    policy: CircuitPolicy
    has_fallback: bool
    # The circuit of the step this one falls back to (the flight's: the rail's), peeked at on failures.
    fallback: Circuit | None = None
    probing: bool = False
    failures_seen: int = 0
    # A peek found this circuit closed as its step became the next to run: its first attempt goes without
    # asking (`forget_fallback_clearance` undoes that when something else runs first).
    cleared: bool = False

    @property
    def entity(self) -> df.EntityId:
        return df.EntityId(CIRCUIT_ENTITY, self.supplier)

    def clearance(self, stop: Any) -> Steps[Clearance]:
        """Ask before an attempt. Told to wait: a step with a fallback skips; the others wait on a durable
        timer until the probe time (WAITED, in place of an attempt), or, while another caller holds the
        probe, a little and ask again (not counted: the probe's lease bounds those waits)."""
        if self.cleared:
            self.cleared = False
            return Clearance.GO
        while True:
            then = "skip" if self.has_fallback else "wait"
            asked = CircuitAsk(now=self.context.current_utc_datetime, policy=self.policy, then=then)
            answer = yield self.context.call_entity(self.entity, "ask", asked.to_wire())
            decision = Decision.from_wire(answer)
            self.probing = decision.verdict is Verdict.PROBE
            self.failures_seen = decision.failures
            if decision.verdict is not Verdict.WAIT:
                return Clearance.GO
            if self.has_fallback:
                log(self.context, logging.INFO, "%s circuit %s: skipped", self.supplier, decision.status)
                return Clearance.SKIP
            until = decision.retry_at or self.context.current_utc_datetime
            log(self.context, logging.INFO, "%s circuit %s: wait", self.supplier, decision.status)
            timer = self.context.create_timer(until)
            if stop is None:
                yield timer
            else:
                yield self.context.task_any([timer, stop])
                if stop.is_completed:
                    cancel_timer(timer)
                    return Clearance.STOPPED
            if decision.status is not CircuitStatus.HALF_OPEN:
                return Clearance.WAITED

    def succeeded(self) -> None:
        if self.probing or self.failures_seen:
            self.context.signal_entity(self.entity, "report", self._report(ok=True).to_wire())

    def failed(self, *, last: bool = False) -> Steps[bool]:
        """Report a transient failure; True when the circuit is no longer closed. The step's `last`
        failure is signalled: the step gives up whatever the answer."""
        report = self._report(ok=False).to_wire()
        self.probing = False
        if last:
            self.context.signal_entity(self.entity, "report", report)
            return False
        reported = self.context.call_entity(self.entity, "report", report)
        if self.fallback is None:
            answer = yield reported
            return Decision.from_wire(answer).verdict is Verdict.WAIT
        fallback = self.fallback
        asked = CircuitAsk(now=self.context.current_utc_datetime, policy=fallback.policy, then="wait")
        peeked = self.context.call_entity(fallback.entity, "peek", asked.to_wire())
        answer, fallback_answer = yield self.context.task_all([reported, peeked])
        opened = Decision.from_wire(answer).verdict is Verdict.WAIT
        if opened:
            # The step gives up on this supplier now, and its fallback runs next, in this same episode.
            fallback.take_peek(Decision.from_wire(fallback_answer))
        return opened

    def forget_fallback_clearance(self) -> None:
        """The fallback does not run next (a reclaim of this step's lost booking comes first, and may take
        long): what the peek saw is stale, so the fallback asks for itself."""
        if self.fallback is not None:
            self.fallback.cleared = False

    def take_peek(self, decision: Decision) -> None:
        self.cleared = decision.verdict is Verdict.GO
        self.probing = False
        self.failures_seen = decision.failures

    def _report(self, *, ok: bool) -> CircuitReport:
        then = "skip" if self.has_fallback else "wait"
        return CircuitReport(
            now=self.context.current_utc_datetime, policy=self.policy, ok=ok, probe=self.probing, then=then
        )
