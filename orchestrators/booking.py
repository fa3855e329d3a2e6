"""The `booking` orchestrator (instance id = bookingId): every trip in parallel, all or nothing,
then one payment for the total, then expenses.

    trips   = book every trip (one `trip` sub-orchestration each), undo them all if one fails
    payment = request the total, wait for it (or a cancel, or the deadline)
    report the expenses, Confirmed

Its custom status is the booking as the traveller sees it; its output is the final view.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from booking.activity_io import Activity, ExpenseLine, ExpenseOrder
from booking.events import CANCEL_REQUESTED
from booking.money import Money, total_of
from booking.orchestration import (
    BOOKING_ORCHESTRATOR,
    TRIP_ORCHESTRATOR,
    UNDO_TRIP_ORCHESTRATOR,
    BookingInput,
    TripInput,
    UndoTripInput,
    trip_instance_id,
    undo_trip_instance_id,
)
from booking.status import BookingStatus, FailureCode, PaymentStatus, TripStatus
from booking.trip_steps import booked_parts
from booking.view import Failure, TripView
from orchestrators._blueprint import bp
from orchestrators.batch import raised_behind_all_of
from orchestrators.breaker import at_least, breaker_on
from orchestrators.outcomes import BookingEnded, cancelled_by_traveller
from orchestrators.payment import collect_payment, request_payment, settle_unpaid, sweep_strays
from orchestrators.steps import Steps, cancel_timer, log, with_backoff
from orchestrators.story import BookingStory

# The first orchestration version that reads a cancel from the batch of the trips' last result instead of
# waiting on a due-now timer for it (README: changing an orchestrator safely).
CANCEL_READ_FROM_BATCH_SINCE = (3, 0)


@bp.orchestration_trigger(context_name="context", orchestration=BOOKING_ORCHESTRATOR)  # type: ignore[untyped-decorator]
def booking_orchestrator(context: df.DurableOrchestrationContext) -> Steps[dict[str, Any]]:
    order = BookingInput.from_wire(context.get_input())
    story = BookingStory(context, order)
    story.publish(BookingStatus.BOOKING)
    try:
        yield from book_and_pay(context, order, story)
    except BookingEnded as ended:
        return story.end(ended.status, ended.failure)
    return story.end(BookingStatus.CONFIRMED)


def book_and_pay(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory
) -> Steps[None]:
    # One wait for the traveller's cancel, created once and kept open from the first step to the payment
    # wait: a wait registered with the SDK stays open until an event completes it (PROTOCOL.md §30).
    cancel = context.wait_for_external_event(CANCEL_REQUESTED)
    yield from book_trips(context, order, story, cancel)
    try:
        story.total = total = sum_prices(order, story.trips)
        payment = yield from request_payment(context, order, story, total)
        yield from collect_payment(context, order, story, payment, cancel)
    except Exception as exc:
        # Durable Functions has no rollback: booked trips stay booked and money taken stays taken
        # until an activity says otherwise. So undo every trip, refund what arrived, re-raise. A defect
        # of ours (anything but BookingEnded) gets the same compensation: failing the orchestration
        # instead would leave the traveller's trips booked at the suppliers.
        ended = exc if isinstance(exc, BookingEnded) else internal_error(context, exc)
        yield from undo_trips(context, order, story)
        # Final from here on: the edge now sends any later payment to `late_payment_refund`
        # instead of raising it into this instance, so the last check below leaves no gap.
        story.conclude(ended.status, ended.failure)
        yield from settle_unpaid(context, order, story)
        raise ended from None
    story.payment_is(PaymentStatus.SUCCEEDED)
    # Paid and booked is Confirmed; the expense report follows and cannot undo that.
    story.conclude(BookingStatus.CONFIRMED)
    yield from sweep_strays(context, order, story)
    yield from report_expenses(context, order, story)


def internal_error(context: df.DurableOrchestrationContext, exc: Exception) -> BookingEnded:
    # The type only: a message (a pydantic error, say) can quote input, and input holds the traveller.
    log(context, logging.ERROR, "booking failed on a defect (%s); undoing it", type(exc).__name__)
    message = "the booking could not be completed"
    return BookingEnded(BookingStatus.FAILED, FailureCode.INTERNAL_ERROR, message)


def book_trips(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory, cancel: Any
) -> Steps[None]:
    """Book every trip in parallel; if any failed, undo the ones that booked (all or nothing) and
    end the booking with that trip's failure. A cancel accepted meanwhile ends it Cancelled before any
    payment is asked for: the booking shows `Cancelling` at once; the trips, told by the edge too, stop
    before their next step (one already at a supplier finishes) and undo themselves; the booking then
    undoes whatever is still booked."""
    children = [
        context.call_sub_orchestrator(
            TRIP_ORCHESTRATOR,
            TripInput(
                booking_id=order.booking_id,
                index=index,
                trip=request,
                traveller=order.request.traveller,
                retry=order.settings.retry,
                circuit=order.settings.circuit if breaker_on(context) else None,
            ).to_wire(),
            trip_instance_id(order.booking_id, index),
        )
        for index, request in enumerate(order.request.trips)
    ]
    trips = context.task_all(children)
    first = yield context.task_any([trips, cancel])
    cancelled = first is cancel or (yield from cancel_behind_the_trips(context, children, cancel))
    if cancelled:
        story.publish(BookingStatus.CANCELLING)
        log(context, logging.INFO, "cancel accepted while booking: undoing once the trips are done")
    results = yield trips
    story.trips = [TripView.from_wire(result) for result in results]
    failed = next((t for t in story.trips if t.status is TripStatus.FAILED), None)
    story.publish()
    if cancelled:
        yield from undo_trips(context, order, story)
        raise cancelled_by_traveller()
    if failed is None:
        return
    failure = failed.failure or Failure(code=FailureCode.INTERNAL_ERROR, message="a trip could not be booked")
    log(context, logging.INFO, "a trip failed (%s): undoing the others", failure.code)
    yield from undo_trips(context, order, story)
    raise BookingEnded(BookingStatus.FAILED, failure.code, failure.message)


def cancel_behind_the_trips(
    context: df.DurableOrchestrationContext, children: list[Any], cancel: Any
) -> Steps[bool]:
    """Whether a cancel came in the same batch as the trips' last result, behind it in history: the SDK
    resumes the booking on that result before it hands the cancel over."""
    if at_least(context.version or "", CANCEL_READ_FROM_BATCH_SINCE):
        return raised_behind_all_of(context, children, CANCEL_REQUESTED)
    # Before 3.0 (kept for the bookings started then): a timer due now lets this episode read the rest of
    # the batch. It misses a cancel that comes in the timer's own batch, behind its TimerFired.
    now = context.create_timer(context.current_utc_datetime)
    first = yield context.task_any([cancel, now])
    cancel_timer(now)
    return first is cancel


def undo_trips(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory
) -> Steps[None]:
    """Undo every booked trip, in parallel (one `undo_trip` each)."""
    booked = [(index, t) for index, t in enumerate(story.trips) if t.status is TripStatus.BOOKED]
    if not booked:
        return
    children = [
        context.call_sub_orchestrator(
            UNDO_TRIP_ORCHESTRATOR,
            UndoTripInput(
                booking_id=order.booking_id, index=index, trip=t, retry=order.settings.retry
            ).to_wire(),
            undo_trip_instance_id(order.booking_id, index),
        )
        for index, t in booked
    ]
    results = yield context.task_all(children)
    trips = list(story.trips)
    for (index, _), result in zip(booked, results, strict=True):
        trips[index] = TripView.from_wire(result)
    story.trips = trips
    story.publish()


def sum_prices(order: BookingInput, trips: list[TripView]) -> Money:
    try:
        return total_of((price for t in trips for price in t.prices()), order.request.currency)
    except ValueError:
        raise BookingEnded(
            BookingStatus.FAILED, FailureCode.SUPPLIER_UNAVAILABLE, "a supplier priced in another currency"
        ) from None


def report_expenses(
    context: df.DurableOrchestrationContext, order: BookingInput, story: BookingStory
) -> Steps[None]:
    lines = [line for t in story.trips for line in expense_lines(t)]
    if not lines:
        return
    expense_order = ExpenseOrder(
        idempotency_key=f"{order.booking_id}:expenses",
        booking_id=order.booking_id,
        traveller=order.request.traveller,
        lines=lines,
    )
    attempts = yield from with_backoff(context, Activity.REPORT_EXPENSES, expense_order, order.settings.retry)
    if attempts.gave_up:
        # The booking is paid and booked: it stays Confirmed; the report can be filed again by id.
        log(context, logging.ERROR, "expense report failed: %s", attempts.error)


def expense_lines(trip: TripView) -> list[ExpenseLine]:
    return [
        ExpenseLine(
            category=part.step.name,
            description=f"{part.step.name} {trip.conference_id}",
            reference=part.item.reference,
            price=part.item.price,
        )
        for part in booked_parts(trip)
    ]
