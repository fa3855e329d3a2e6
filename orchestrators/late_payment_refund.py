"""The `late_payment_refund` orchestrator (instance `refund-<paymentId>`): money that arrived for a
booking that can no longer take it (expired, cancelled, failed) goes back to the traveller.

The webhook endpoint starts it when the booking is already final. Its refund uses the same
provider idempotency key as the booking's own refunds, so a payment is refunded at most once
whichever path gets there first. If the provider stays unreachable it fails loudly (an operator
can rewind it) rather than end quietly with the money kept.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from booking.activity_io import Activity, RefundOrder, RefundOutcome
from booking.events import PaymentEvent, parse_event_payload
from booking.orchestration import LATE_PAYMENT_REFUND_ORCHESTRATOR, RetryPolicy, refund_key
from orchestrators._blueprint import bp
from orchestrators.steps import MUST_FINISH, Steps, log, with_backoff

# The booking's own snapshot is not at hand here; the contract's defaults are a sound refund policy.
REFUND_POLICY = RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=60_000, max_attempts=8)


class RefundNotDone(Exception):
    """The provider could not be reached for a refund: fail the orchestration so it is seen."""


@bp.orchestration_trigger(context_name="context", orchestration=LATE_PAYMENT_REFUND_ORCHESTRATOR)  # type: ignore[untyped-decorator]
def late_payment_refund(context: df.DurableOrchestrationContext) -> Steps[dict[str, Any]]:
    event = PaymentEvent.model_validate(parse_event_payload(context.get_input()))
    order = RefundOrder(
        idempotency_key=refund_key(event.payment_id), payment_id=event.payment_id, reason="late_payment"
    )
    attempts = yield from with_backoff(
        context, Activity.REFUND_PAYMENT, order, REFUND_POLICY, patience=MUST_FINISH
    )
    if attempts.gave_up:
        raise RefundNotDone(f"refund of {event.payment_id} not done: {attempts.error}")
    outcome = RefundOutcome.from_wire(attempts.result)
    log(context, logging.INFO, "late payment %s refunded: %s", event.payment_id, outcome.refunded)
    return outcome.to_wire()
