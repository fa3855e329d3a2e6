"""Getting paid: wait for the first of PaymentSucceeded, PaymentFailed, CancelRequested or the
deadline, reconcile with the provider before giving up, and give back money the booking cannot keep.

Two platform facts shape the wait. The SDK (1.7.0) hands an event that arrived before anyone waited
to *every* later wait for that name (vector 09), while the real extension hands it to one waiter
only; and providers deliver twice. So each event is deduplicated by webhook id and payment id, a
duplicate never counts, and after one the orchestrator stops listening and waits out the deadline
(never waiting again on a name whose event the two sides would disagree about).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
from pydantic import ValidationError

from booking.activity_io import (
    Activity,
    CheckPaymentOrder,
    PaymentOrder,
    PaymentState,
    ProviderPaymentStatus,
    RefundOrder,
    RefundOutcome,
)
from booking.events import (
    CANCEL_REQUESTED,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    PaymentEvent,
    parse_event_payload,
)
from booking.money import Money
from booking.orchestration import BookingInput, refund_key
from booking.status import BookingStatus, FailureCode, PaymentStatus
from orchestrators.outcomes import BookingEnded
from orchestrators.steps import MUST_FINISH, log, with_backoff
from orchestrators.story import BookingStory

# Events that decide nothing (stale failures, strays) before the orchestrator stops listening.
MAX_UNDECIDED_EVENTS = 10


def request_payment(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory, total: Money
) -> Generator[Any, Any, PaymentState]:
    payment_order = PaymentOrder(
        idempotency_key=f"{order.booking_id}:payment",
        booking_id=order.booking_id,
        amount=total,
        callback_url=order.settings.payment_callback_url,
        traveller=order.request.traveller,
        description=f"Conference trips, booking {order.booking_id}",
    )
    attempts = yield from with_backoff(context, Activity.REQUEST_PAYMENT, payment_order, order.settings.retry)
    if attempts.gave_up:
        raise BookingEnded(
            BookingStatus.FAILED, FailureCode.SUPPLIER_UNAVAILABLE, "the payment provider is unavailable"
        )
    payment = PaymentState.from_wire(attempts.result)
    deadline = context.current_utc_datetime + timedelta(seconds=order.settings.payment_timeout_seconds)
    story.awaiting_payment(payment.payment_id, payment.checkout_url, deadline)
    return payment


def collect_payment(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory, payment: PaymentState
) -> Generator[Any, Any, Money]:
    """The amount paid, once the provider confirms the booking's total; `BookingEnded` otherwise."""
    expected = story.total or payment.amount
    deadline: datetime = story.payment.expires_at or context.current_utc_datetime
    seen: set[str] = set()
    for _ in range(MAX_UNDECIDED_EVENTS):
        succeeded = context.wait_for_external_event(PAYMENT_SUCCEEDED)
        failed = context.wait_for_external_event(PAYMENT_FAILED)
        cancelled = context.wait_for_external_event(CANCEL_REQUESTED)
        timeout = context.create_timer(deadline)
        winner = yield context.task_any([succeeded, failed, cancelled, timeout])
        if winner is timeout:
            break
        if winner is cancelled:
            stop(timeout)
            raise BookingEnded(
                BookingStatus.CANCELLED, FailureCode.CANCELLED_BY_TRAVELLER, "cancelled by the traveller"
            )
        name = PAYMENT_SUCCEEDED if winner is succeeded else PAYMENT_FAILED
        event = read_payment_event(name, winner.result)
        keys = dedupe_keys(name, event)
        if keys & seen:
            log(context, logging.INFO, "duplicate %s ignored; waiting out the payment window", name)
            yield timeout
            break
        seen |= keys
        stop(timeout)
        if event is None or event.payment_id != payment.payment_id:
            yield from refund_stray(context, order, event)
            continue
        if event.succeeded:
            return accept(event.money, expected)
        # A payment.failed can be a stale card attempt delivered after the success it preceded:
        # the provider's own status decides, and a payment still pending keeps the booking waiting.
        state = yield from check_payment(context, order, payment.payment_id)
        if state is not None and state.status is ProviderPaymentStatus.SUCCEEDED:
            return accept(state.amount, expected)
        if state is None or state.status is not ProviderPaymentStatus.PENDING:
            raise BookingEnded(BookingStatus.FAILED, FailureCode.PAYMENT_FAILED, failed_message(event))
    else:
        # Only undecided events so far: stop listening and wait out the window.
        yield context.create_timer(deadline)
    # Reconciliation: a webhook can be lost, a paid booking must not be; ask the provider once.
    state = yield from check_payment(context, order, payment.payment_id)
    if state is not None and state.status is ProviderPaymentStatus.SUCCEEDED:
        log(context, logging.INFO, "payment found by reconciliation")
        return accept(state.amount, expected)
    if state is not None and state.status is ProviderPaymentStatus.FAILED:
        raise BookingEnded(BookingStatus.FAILED, FailureCode.PAYMENT_FAILED, "the payment failed")
    raise BookingEnded(
        BookingStatus.EXPIRED, FailureCode.PAYMENT_TIMEOUT, "the payment did not arrive in time"
    )


def stop(timer: Any) -> None:
    """Cancel a timer that lost: an uncancelled timer keeps the instance Running until it fires."""
    if not timer.is_completed:
        timer.cancel()


def accept(paid: Money, expected: Money) -> Money:
    if paid != expected:
        # The contract: a wrong amount counts as a failed payment (and is refunded when settling).
        raise BookingEnded(
            BookingStatus.FAILED, FailureCode.PAYMENT_AMOUNT_MISMATCH, f"paid {paid}, expected {expected}"
        )
    return paid


def settle_unpaid(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory
) -> Generator[Any, Any, None]:
    """Before a booking ends unpaid, ask the provider once more and refund money that did arrive.

    It runs after the final status is shown, so a success that lands after this check reaches the
    edge's late-payment path, which refunds under the same key: never lost, never refunded twice.
    """
    payment_id = story.payment.payment_id
    if payment_id is None:
        return
    # Must not give up early: a payment it cannot see could be money kept.
    state = yield from check_payment(context, order, payment_id, patience=MUST_FINISH)
    if state is None:
        return
    if state.status is ProviderPaymentStatus.SUCCEEDED:
        outcome = yield from refund(context, order, payment_id, "booking_not_confirmed")
        story.payment_is(PaymentStatus.REFUNDED if outcome and outcome.refunded else PaymentStatus.SUCCEEDED)
    elif state.status is ProviderPaymentStatus.REFUNDED:
        story.payment_is(PaymentStatus.REFUNDED)
    elif state.status is ProviderPaymentStatus.FAILED:
        story.payment_is(PaymentStatus.FAILED)


def check_payment(
    context: df.DurableOrchestrationContext,
    order: BookingInput,
    payment_id: str,
    *,
    patience: timedelta | None = None,
) -> Generator[Any, Any, PaymentState | None]:
    attempts = yield from with_backoff(
        context,
        Activity.CHECK_PAYMENT,
        CheckPaymentOrder(payment_id=payment_id),
        order.settings.retry,
        patience=patience,
    )
    return None if attempts.gave_up else PaymentState.from_wire(attempts.result)


def refund(
    context: df.DurableOrchestrationContext, order: BookingInput, payment_id: str, reason: str
) -> Generator[Any, Any, RefundOutcome | None]:
    refund_order = RefundOrder(idempotency_key=refund_key(payment_id), payment_id=payment_id, reason=reason)
    # A refund that gives up is money kept: it keeps trying as long as an undo does.
    attempts = yield from with_backoff(
        context, Activity.REFUND_PAYMENT, refund_order, order.settings.retry, patience=MUST_FINISH
    )
    if attempts.gave_up:
        log(context, logging.ERROR, "refund of %s failed: %s", payment_id, attempts.error)
        return None
    return RefundOutcome.from_wire(attempts.result)


def refund_stray(
    context: df.DurableOrchestrationContext, order: BookingInput, event: PaymentEvent | None
) -> Generator[Any, Any, None]:
    """Money for this booking under another payment id can never be kept: give it back."""
    if event is None:
        log(context, logging.WARNING, "malformed payment event ignored")
        return
    if event.succeeded:
        log(context, logging.WARNING, "payment %s is not this booking's: refunding", event.payment_id)
        yield from refund(context, order, event.payment_id, "not_payable")


def read_payment_event(name: str, payload: Any) -> PaymentEvent | None:
    kind = "payment.succeeded" if name == PAYMENT_SUCCEEDED else "payment.failed"
    try:
        # The event name says what happened, whatever the payload claims.
        return PaymentEvent.model_validate({**parse_event_payload(payload), "type": kind})
    except ValidationError:
        return None


def dedupe_keys(name: str, event: PaymentEvent | None) -> set[str]:
    if event is None:
        return {f"malformed:{name}"}
    return {f"webhook:{event.webhook_id}", f"{event.type}:{event.payment_id}"}


def failed_message(event: PaymentEvent) -> str:
    return f"the payment failed ({event.reason})" if event.reason else "the payment failed"
