"""Building blocks every orchestrator uses: calling an activity with the app's own backoff, and logging.

Everything here is deterministic: delays come from the settings snapshot in the input, the failure
message and `context.current_utc_datetime` only, so a replay makes exactly the same decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df

from booking.errors import retry_after_from_failure
from booking.orchestration import RetryPolicy
from booking.wire import WireModel

logger = logging.getLogger("orchestrators")

# What a step generator yields to the SDK and receives back: durable tasks and their results.
Steps = Generator[Any, Any, Any]


@dataclass(frozen=True)
class Attempts:
    """How calling an activity with retries went: its result, or the last failure once retries ran out."""

    result: Any
    error: str | None
    count: int

    @property
    def gave_up(self) -> bool:
        return self.error is not None


def with_backoff(
    context: df.DurableOrchestrationContext,
    activity: str,
    order: WireModel,
    policy: RetryPolicy,
) -> Generator[Any, Any, Attempts]:
    """Call `activity` until it returns, waiting first × backoff^n (capped, or a longer Retry-After)
    on a durable timer between failures, at most `policy.max_attempts` times.

    The SDK's `call_activity_with_retry` retries at a constant interval and cannot see a Retry-After,
    so the loop is the app's own. Activities return business outcomes and raise only for transient
    failures, so every exception here is worth another try.
    """
    payload = order.to_wire()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            result = yield context.call_activity(activity, payload)
        except Exception as exc:  # an activity failure, thrown into the generator by the SDK
            error = first_line(str(exc))
            if attempt == policy.max_attempts:
                log(context, logging.WARNING, "%s gave up after %d attempts: %s", activity, attempt, error)
                return Attempts(result=None, error=error, count=attempt)
            delay = policy.delay(attempt, retry_after_from_failure(str(exc)))
            log(context, logging.INFO, "%s failed (attempt %d), retry in %s", activity, attempt, delay)
            yield context.create_timer(context.current_utc_datetime + delay)
        else:
            return Attempts(result=result, error=None, count=attempt)
    raise AssertionError("unreachable: max_attempts >= 1")


def log(context: df.DurableOrchestrationContext, level: int, message: str, *args: object) -> None:
    """Log once, not on every replay; callers pass ids and outcomes, never the traveller's email."""
    if not context.is_replaying:
        logger.log(level, "[%s] " + message, context.instance_id, *args)


def first_line(message: str) -> str:
    """The runtime appends the .NET exception details after a newline: keep the readable part."""
    return message.split("\n", 1)[0].strip()[:500]
