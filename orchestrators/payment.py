"""Getting paid: request the payment, wait until this booking's payment succeeds or fails, a cancel
arrives or the deadline passes, reconcile with the provider before giving up, and give back any money
the booking cannot keep.

Events are fast, the provider is the truth. A webhook raised into the booking normally ends the wait
at once. But the SDK (azure-functions-durable 1.7.0; devhost/PROTOCOL.md §30, pinned in
tests/orchestrators/test_sdk_event_semantics.py) does not make every wait reliable:

- a wait is registered when it is yielded and stays open until an event completes it; an event that
  finds no open wait for its name goes to one slot per name, replacing what was there, and that slot
  answers every later wait for the name, at once, for the rest of the execution;
- the extension's side hands each event to one waiter only, so a wait the SDK answers from the slot is
  still open there, and the instance would hang on it unless that round's timer is cancelled.

So the wait runs in rounds. Each round yields one wait per event name — the same task again while it
has not completed (an event arriving while the booking refunds a stray or checks a failure completes
it: nothing is lost), a new one once it has — and a timer. A round ended by an event cancels its
timer, which also lets the extension's side move on when the SDK answered from the slot. An event
whose webhook was already handled means the name's slot is stale (or the provider delivered twice):
the SDK would answer every later wait with it, so the booking stops waiting on that name and instead
asks the provider for the booking's payments every `RECHECK_EVERY` on durable timers, until the
deadline. The provider's records show the payment succeeded within one step of its first webhook,
whatever events came before it or were lost in the slot. Bounded: at most one check per step of the
payment window, and only for a booking whose events repeated.

Money taken under another payment id (a stray) is refunded when its event is seen, at every check of
the provider, and once more after the booking shows its final status (`sweep_strays`, from the
provider's list of the booking's payments), so a stray whose event was replaced in the slot is
refunded too; later ones reach the edge's `late_payment_refund`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
from pydantic import ValidationError

from booking.activity_io import (
    Activity,
    BookingPayments,
    CancelPaymentOrder,
    CheckPaymentOrder,
    ListPaymentsOrder,
    PaymentOrder,
    PaymentState,
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
from booking.status import BookingStatus, FailureCode, PaymentStatus, ProviderPaymentStatus
from booking.wire import WireModel
from orchestrators.breaker import at_least
from orchestrators.outcomes import BookingEnded, cancelled_by_traveller
from orchestrators.steps import MUST_FINISH, Attempts, Steps, cancel_timer, log, with_backoff
from orchestrators.story import BookingStory


def request_payment(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory, total: Money
) -> Steps[PaymentState]:
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


# How often a booking whose events cannot be trusted asks the provider (well inside the contract's
# 10 s: a check takes one activity call after the step).
RECHECK_EVERY = timedelta(seconds=3)

# The first orchestration version that ends the booking on a cancel that came while its payment request
# was at the provider; older bookings drop that cancel and wait for the payment until the deadline
# (README: changing an orchestrator safely).
CANCEL_WHILE_ASKING_SINCE = (3, 0)

# A cancel delivered together with a payment event wins: it is the traveller's latest word, and money
# that arrived anyway is refunded when the booking settles.
EVENT_NAMES = (CANCEL_REQUESTED, PAYMENT_SUCCEEDED, PAYMENT_FAILED)


class Listener:
    """One wait per event name the booking still listens to, kept open across rounds until an event
    completes it (see the module docstring for why a completed wait is replaced, never an open one)."""

    def __init__(self, context: df.DurableOrchestrationContext, open_waits: dict[str, Any]) -> None:
        self.context = context
        self.waits: dict[str, Any] = {n: wait for n, wait in open_waits.items() if not wait.is_completed}
        self.deaf: set[str] = set()  # names whose SDK slot is stale: the provider is asked instead

    def round(self) -> list[Any]:
        for name in EVENT_NAMES:
            if name not in self.deaf and name not in self.waits:
                self.waits[name] = self.context.wait_for_external_event(name)
        return [self.waits[name] for name in EVENT_NAMES if name in self.waits]

    def take(self, wait: Any) -> str:
        name = next(name for name, open_wait in self.waits.items() if open_wait is wait)
        del self.waits[name]
        return name


def collect_payment(
    context: df.DurableOrchestrationContext,
    order: BookingInput,
    story: BookingStory,
    payment: PaymentState,
    cancel: Any,
) -> Steps[Money]:
    """The amount paid, once the provider confirms the booking's total; `BookingEnded` otherwise.
    `cancel` is the booking's open wait for the traveller's cancel (kept, not created again)."""
    expected = story.total or payment.amount
    deadline: datetime = story.payment.expires_at or context.current_utc_datetime
    if cancel.is_completed and at_least(context.version or "", CANCEL_WHILE_ASKING_SINCE):
        # The cancel came while the payment request was at the provider: the SDK handed it to `cancel`
        # then, and a new wait for the name would never see it (the event is used up, not in the slot).
        raise cancelled_by_traveller()
    listener = Listener(context, {CANCEL_REQUESTED: cancel})
    seen: set[str] = set()
    while context.current_utc_datetime < deadline:
        rechecking = bool(listener.deaf)
        fire_at = min(deadline, context.current_utc_datetime + RECHECK_EVERY) if rechecking else deadline
        timer = context.create_timer(fire_at)
        winner = yield context.task_any([*listener.round(), timer])
        if winner is timer:
            if rechecking and fire_at < deadline:  # at the deadline, reconciliation below asks
                paid = yield from recheck(context, order, payment, expected)
                if paid is not None:
                    return paid
            continue
        cancel_timer(timer)
        name = listener.take(winner)
        if name == CANCEL_REQUESTED:
            raise cancelled_by_traveller()
        event = read_payment_event(name, winner.result)
        keys = dedupe_keys(name, event)
        if keys & seen:
            if name not in listener.deaf:
                log(context, logging.INFO, "%s repeated: asking the provider every few seconds", name)
            listener.deaf.add(name)
            continue
        seen |= keys
        paid = yield from on_payment_event(context, order, payment, expected, event)
        if paid is not None:
            return paid
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


def on_payment_event(
    context: df.DurableOrchestrationContext,
    order: BookingInput,
    payment: PaymentState,
    expected: Money,
    event: PaymentEvent | None,
) -> Steps[Money | None]:
    """The amount paid if this event settles the payment; None to keep waiting; `BookingEnded`."""
    if event is None or event.payment_id != payment.payment_id:
        yield from refund_stray(context, order, event)
        return None
    if event.succeeded:
        return accept(event.money, expected)
    # A payment.failed can be a stale card attempt delivered after the success it preceded:
    # the provider's own status decides, and a payment still pending keeps the booking waiting.
    state = yield from check_payment(context, order, payment.payment_id)
    if state is not None and state.status is ProviderPaymentStatus.SUCCEEDED:
        return accept(state.amount, expected)
    if state is None or state.status is not ProviderPaymentStatus.PENDING:
        raise BookingEnded(BookingStatus.FAILED, FailureCode.PAYMENT_FAILED, failed_message(event))
    return None


def recheck(
    context: df.DurableOrchestrationContext, order: BookingInput, payment: PaymentState, expected: Money
) -> Steps[Money | None]:
    """One step of asking the provider: refund strays it holds, settle on the booking's payment."""
    payments = yield from list_payments(context, order)
    if payments is None:
        return None  # unreachable for now: the next step asks again
    for stray in payments.others_succeeded(payment.payment_id):
        log(context, logging.WARNING, "payment %s is not this booking's: refunding", stray.payment_id)
        yield from refund(context, order, stray.payment_id, "not_payable")
    state = payments.find(payment.payment_id)
    if state is not None and state.status is ProviderPaymentStatus.SUCCEEDED:
        log(context, logging.INFO, "payment found by asking the provider")
        return accept(state.amount, expected)
    if state is not None and state.status is ProviderPaymentStatus.FAILED:
        raise BookingEnded(BookingStatus.FAILED, FailureCode.PAYMENT_FAILED, "the payment failed")
    return None


def accept(paid: Money, expected: Money) -> Money:
    if paid != expected:
        # The contract: a wrong amount counts as a failed payment (and is refunded when settling).
        raise BookingEnded(
            BookingStatus.FAILED, FailureCode.PAYMENT_AMOUNT_MISMATCH, f"paid {paid}, expected {expected}"
        )
    return paid


def settle_unpaid(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory
) -> Steps[None]:
    """Before a booking ends unpaid, ask the provider once more: a payment still pending is cancelled
    there (nobody may pay for a booking that has ended), and money that did arrive is refunded, under
    the booking's payment id or any other (the provider's list of the booking's payments).

    It runs after the final status is shown, so a success that lands after this check reaches the
    edge's late-payment path, which refunds under the same key: never lost, never refunded twice.
    """
    payment_id = story.payment.payment_id
    if payment_id is None:
        return
    # Must not give up early: a payment it cannot see could be money kept.
    payments = yield from list_payments(context, order, patience=MUST_FINISH)
    if payments is None:
        return
    for stray in payments.others_succeeded(payment_id):
        yield from refund(context, order, stray.payment_id, "not_payable")
    state = payments.find(payment_id)
    if state is not None and state.status is ProviderPaymentStatus.PENDING:
        # The cancel loses only to money already taken: its answer then says succeeded, and it is refunded.
        state = yield from cancel_payment(context, order, payment_id)
    if state is None:
        return
    if state.status is ProviderPaymentStatus.SUCCEEDED:
        outcome = yield from refund(context, order, payment_id, "booking_not_confirmed")
        story.payment_is(PaymentStatus.REFUNDED if outcome and outcome.refunded else PaymentStatus.SUCCEEDED)
    elif state.status is ProviderPaymentStatus.REFUNDED:
        story.payment_is(PaymentStatus.REFUNDED)
    elif state.status is ProviderPaymentStatus.FAILED:
        story.payment_is(PaymentStatus.FAILED)
    elif state.status is ProviderPaymentStatus.CANCELLED:
        story.payment_is(PaymentStatus.CANCELLED)


def sweep_strays(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory
) -> Steps[None]:
    """After a booking is shown Confirmed: refund money the provider holds for it under another
    payment id (a stray whose event never reached the booking). Later strays go to the edge."""
    payment_id = story.payment.payment_id
    if payment_id is None:
        return
    payments = yield from list_payments(context, order, patience=MUST_FINISH)
    if payments is None:
        log(context, logging.ERROR, "the provider's payments for the booking could not be listed")
        return
    for stray in payments.others_succeeded(payment_id):
        log(context, logging.WARNING, "payment %s is not this booking's: refunding", stray.payment_id)
        yield from refund(context, order, stray.payment_id, "not_payable")


def cancel_payment(
    context: df.DurableOrchestrationContext, order: BookingInput, payment_id: str
) -> Steps[PaymentState | None]:
    # Must finish like a refund: a payment left payable for an ended booking is money taken later.
    request = CancelPaymentOrder(payment_id=payment_id)
    attempts = yield from ask_provider(context, order, Activity.CANCEL_PAYMENT, request, patience=MUST_FINISH)
    if attempts.gave_up:
        log(context, logging.ERROR, "cancel of %s failed: %s", payment_id, attempts.error)
    return attempts.outcome_as(PaymentState)


def list_payments(
    context: df.DurableOrchestrationContext, order: BookingInput, *, patience: timedelta | None = None
) -> Steps[BookingPayments | None]:
    request = ListPaymentsOrder(booking_id=order.booking_id)
    attempts = yield from ask_provider(context, order, Activity.LIST_PAYMENTS, request, patience=patience)
    return attempts.outcome_as(BookingPayments)


def check_payment(
    context: df.DurableOrchestrationContext,
    order: BookingInput,
    payment_id: str,
    *,
    patience: timedelta | None = None,
) -> Steps[PaymentState | None]:
    request = CheckPaymentOrder(payment_id=payment_id)
    attempts = yield from ask_provider(context, order, Activity.CHECK_PAYMENT, request, patience=patience)
    return attempts.outcome_as(PaymentState)


def refund(
    context: df.DurableOrchestrationContext, order: BookingInput, payment_id: str, reason: str
) -> Steps[RefundOutcome | None]:
    request = RefundOrder(idempotency_key=refund_key(payment_id), payment_id=payment_id, reason=reason)
    # A refund that gives up is money kept: it keeps trying as long as an undo does.
    attempts = yield from ask_provider(context, order, Activity.REFUND_PAYMENT, request, patience=MUST_FINISH)
    if attempts.gave_up:
        log(context, logging.ERROR, "refund of %s failed: %s", payment_id, attempts.error)
    return attempts.outcome_as(RefundOutcome)


def ask_provider(
    context: df.DurableOrchestrationContext,
    order: BookingInput,
    activity: Activity,
    request: WireModel,
    *,
    patience: timedelta | None = None,
) -> Steps[Attempts]:
    """One payment activity, retried on the booking's policy (for at least `patience`, if given)."""
    return (yield from with_backoff(context, activity, request, order.settings.retry, patience=patience))


def refund_stray(
    context: df.DurableOrchestrationContext, order: BookingInput, event: PaymentEvent | None
) -> Steps[None]:
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
