"""Building blocks every orchestrator uses: calling an activity with the app's own backoff, and logging.

Everything here is deterministic: delays come from the settings snapshot in the input, the failure
message and `context.current_utc_datetime` only, so a replay makes exactly the same decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import azure.durable_functions as df

from booking.activity_io import Activity
from booking.errors import outcome_unknown_from_failure, retry_after_from_failure
from booking.orchestration import RetryPolicy
from booking.wire import WireModel

if TYPE_CHECKING:
    from orchestrators.breaker import Circuit

logger = logging.getLogger("orchestrators")

T = TypeVar("T")
W = TypeVar("W", bound=WireModel)
# An orchestrator step: a generator that yields durable tasks to the SDK, receives their results, and
# returns a T. Steps compose with `yield from`.
Steps = Generator[Any, Any, T]


@dataclass(frozen=True)
class Attempts:
    """How calling an activity with retries went: its result, or the last failure once retries ran out.

    `outcome_unknown`: at least one failed attempt may have been carried out by the supplier (its
    failure carried the `[outcome-unknown]` marker), so giving up does not prove nothing was done.
    """

    result: Any
    error: str | None
    count: int
    outcome_unknown: bool = False
    stopped: bool = False  # given up early because `stop` completed (no more attempts were made)

    @property
    def gave_up(self) -> bool:
        return self.error is not None

    def outcome_as(self, model: type[W]) -> W | None:
        """The activity's result read as `model`; None when it gave up."""
        return None if self.gave_up else model.from_wire(self.result)


class Clearance(Enum):
    """What a supplier's circuit breaker lets a step do before its next attempt (`orchestrators.breaker`)."""

    GO = "go"  # call the supplier now
    SKIP = "skip"  # the circuit is open and the step has a fallback: give up on this supplier now
    WAITED = "waited"  # the circuit was open: waited until its probe time, in place of an attempt
    STOPPED = "stopped"  # the stop (a cancel) came while waiting


# How long an undo or a refund keeps trying: giving up leaves a supplier booking active or money
# kept, so these retry far beyond `max_attempts`, on `RetryPolicy.patient()` intervals (a supplier
# outage of hours must not become a booking left behind); only then is the step reported as not done.
MUST_FINISH = timedelta(hours=24)


def with_backoff(
    context: df.DurableOrchestrationContext,
    activity: Activity,
    order: WireModel,
    policy: RetryPolicy,
    *,
    patience: timedelta | None = None,
    stop: Any = None,
    circuit: Circuit | None = None,
) -> Steps[Attempts]:
    """Call `activity` until it returns, waiting first × backoff^n (capped, or a longer Retry-After)
    on a durable timer between failures, at most `policy.max_attempts` times — or, with `patience`,
    for at least that long (orchestration time) as well.

    `stop` (a durable task, e.g. the wait for a cancel): once it completes no further attempt starts
    and a backoff ends at once (`Attempts.stopped`). An attempt already running still finishes: a
    request already at a supplier cannot be called back, so its outcome is what the caller gets.

    The SDK's `call_activity_with_retry` retries at a constant interval and cannot see a Retry-After,
    so the loop is the app's own. Activities return business outcomes and raise only for transient
    failures, so every exception here is worth another try.

    `circuit` (the supplier's breaker, `orchestrators.breaker`): asked before every attempt and told
    how each went. While it is open a step with a fallback gives up at once (no attempt made), and
    one without waits until the probe time, each such wait taking the place of an attempt, so a
    supplier that stays down still ends the step after `max_attempts`, without calling it each time.
    A failure whose report finds the circuit open ends the step's backoff at once: a step with a
    fallback gives up there and then, one without asks for the probe time.
    """
    payload = order.to_wire()
    started = context.current_utc_datetime
    attempt = 0
    unknown = False
    error: str | None = None
    while True:
        if circuit is not None:
            cleared = yield from circuit.clearance(stop)
            if cleared is Clearance.GO:
                pass
            elif cleared is Clearance.WAITED and attempt + 1 < policy.max_attempts:
                attempt += 1
                continue
            else:
                error = error or f"the {circuit.supplier} circuit is open"
                stopped = cleared is Clearance.STOPPED
                if not stopped:
                    log(context, logging.WARNING, "%s: %s circuit open: gave up", activity, circuit.supplier)
                return Attempts(
                    result=None,
                    error=error,
                    count=attempt + (cleared is Clearance.WAITED),
                    outcome_unknown=unknown,
                    stopped=stopped,
                )
        attempt += 1
        call = context.call_activity(activity, payload)
        if stop is not None and not stop.is_completed:
            # Yielded beside the call so the stop registers and wakes this step (a wait counts only
            # once yielded, PROTOCOL.md §30); the call is then awaited to its end either way.
            yield context.task_any([call, stop])
        try:
            result = yield call
        except Exception as exc:  # an activity failure, thrown into the generator by the SDK
            error = first_line(str(exc))
            unknown = unknown or outcome_unknown_from_failure(str(exc))
            spent = attempt >= policy.max_attempts
            opened = False
            if circuit is not None:
                opened = yield from circuit.failed(last=spent or (stop is not None and stop.is_completed))
            if stop is not None and stop.is_completed:
                return Attempts(
                    result=None, error=error, count=attempt, outcome_unknown=unknown, stopped=True
                )
            if spent and (patience is None or context.current_utc_datetime - started >= patience):
                log(context, logging.WARNING, "%s gave up after %d attempts: %s", activity, attempt, error)
                return Attempts(result=None, error=error, count=attempt, outcome_unknown=unknown)
            if opened and circuit is not None and circuit.has_fallback:
                log(context, logging.WARNING, "%s: %s circuit opened: gave up", activity, circuit.supplier)
                return Attempts(result=None, error=error, count=attempt, outcome_unknown=unknown)
            if opened:
                continue  # no backoff: the circuit's next answer sets the wait for the probe
            backoff = policy.patient() if spent else policy
            delay = backoff.delay(attempt, retry_after_from_failure(str(exc)))
            log(context, logging.INFO, "%s failed (attempt %d), retry in %s", activity, attempt, delay)
            timer = context.create_timer(context.current_utc_datetime + delay)
            if stop is None:
                yield timer
                continue
            yield context.task_any([timer, stop])
            if stop.is_completed:
                cancel_timer(timer)
                return Attempts(
                    result=None, error=error, count=attempt, outcome_unknown=unknown, stopped=True
                )
        else:
            if circuit is not None:
                circuit.succeeded()
            return Attempts(result=result, error=None, count=attempt, outcome_unknown=unknown)


def cancel_timer(timer: Any) -> None:
    """Cancel a timer that lost its race: an uncancelled timer keeps the instance Running until it
    fires, and the extension's shim only moves on once the SDK reports it cancelled (PROTOCOL.md §30)."""
    if not timer.is_completed:
        timer.cancel()


def log(context: df.DurableOrchestrationContext, level: int, message: str, *args: object) -> None:
    """Log once, not on every replay; callers pass ids and outcomes, never the traveller's email."""
    if not context.is_replaying:
        logger.log(level, "[%s] " + message, context.instance_id, *args)


def first_line(message: str) -> str:
    """The runtime appends the .NET exception details after a newline: keep the readable part."""
    return message.split("\n", 1)[0].strip()[:500]
