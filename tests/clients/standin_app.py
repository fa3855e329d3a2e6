"""A function app for the edge's happy-path tests: the real clients/ blueprint with stand-in
orchestrators and activities registered under the contract's durable names.

The stand-ins keep the contract's shapes (BookingInput in, BookingView as custom status and output,
the three external events, `late_payment_refund` per payment) and nothing else, so the edge is
tested against the real SDK client and devhost's management API without suppliers.
"""

from __future__ import annotations

from collections.abc import Generator
from decimal import Decimal
from typing import Any

import azure.durable_functions as df
import azure.functions as func

import clients
from booking import (
    CANCEL_REQUESTED,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    BookingInput,
    BookingStatus,
    BookingView,
    Failure,
    FailureCode,
    Money,
    PaymentEvent,
    PaymentStatus,
    PaymentView,
    TicketView,
    TripStatus,
    TripView,
    parse_event_payload,
)

PRICE = Decimal("100.00")
standins = df.Blueprint()

# Stand-in supplier state: the first flight attempt of each booking fails (a flaky airline).
flight_attempts: dict[str, int] = {}
refunds: list[str] = []


@standins.activity_trigger(input_name="order", activity="book_flight")
def book_flight(order: dict[str, Any]) -> dict[str, Any]:
    booking_id = order["bookingId"]
    flight_attempts[booking_id] = flight_attempts.get(booking_id, 0) + 1
    if flight_attempts[booking_id] == 1:
        raise RuntimeError("TransientSupplierError: airline: 503 unavailable")
    return {"booking": {"mode": "flight", "reference": f"FL-{booking_id[-4:]}"}}


@standins.activity_trigger(input_name="order", activity="request_payment")
def request_payment(order: dict[str, Any]) -> dict[str, Any]:
    return {"paymentId": "pay_" + order["bookingId"][-8:], "status": "pending"}


@standins.activity_trigger(input_name="order", activity="refund_payment")
def refund_payment(order: dict[str, Any]) -> dict[str, Any]:
    refunds.append(order["paymentId"])
    return {"paymentId": order["paymentId"], "refunded": True}


@standins.orchestration_trigger(context_name="context", orchestration="booking")
def booking_standin(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    order = BookingInput.from_wire(context.get_input())
    trips = [
        TripView(
            conference_id=t.conference_id,
            status=TripStatus.BOOKED,
            ticket=TicketView(reference=f"CT-{i}", price=Money(amount=PRICE, currency="EUR")),
        )
        for i, t in enumerate(order.request.trips)
    ]
    context.set_custom_status(BookingView(status=BookingStatus.BOOKING, trips=trips).to_wire())
    try:
        yield context.call_activity("book_flight", {"bookingId": order.booking_id})
    except Exception:
        yield context.create_timer(context.current_utc_datetime)
        yield context.call_activity("book_flight", {"bookingId": order.booking_id})
    payment = yield context.call_activity("request_payment", {"bookingId": order.booking_id})
    total = Money(amount=PRICE * len(trips), currency="EUR")
    waiting = BookingView(
        status=BookingStatus.AWAITING_PAYMENT,
        trips=trips,
        total=total,
        payment=PaymentView(status=PaymentStatus.PENDING, payment_id=payment["paymentId"]),
    )
    context.set_custom_status(waiting.to_wire())
    succeeded = context.wait_for_external_event(PAYMENT_SUCCEEDED)
    failed = context.wait_for_external_event(PAYMENT_FAILED)
    cancelled = context.wait_for_external_event(CANCEL_REQUESTED)
    winner = yield context.task_any([succeeded, failed, cancelled])
    if winner == succeeded:
        event = PaymentEvent.model_validate(parse_event_payload(winner.result))
        paid = PaymentView(status=PaymentStatus.SUCCEEDED, payment_id=event.payment_id)
        final = waiting.model_copy(update={"status": BookingStatus.CONFIRMED, "payment": paid})
    elif winner == failed:
        failure = Failure(code=FailureCode.PAYMENT_FAILED, message="declined")
        final = waiting.model_copy(update={"status": BookingStatus.FAILED, "failure": failure})
    else:
        failure = Failure(code=FailureCode.CANCELLED_BY_TRAVELLER, message="cancelled")
        final = waiting.model_copy(update={"status": BookingStatus.CANCELLED, "failure": failure})
    context.set_custom_status(final.to_wire())
    return final.to_wire()


@standins.orchestration_trigger(context_name="context", orchestration="late_payment_refund")
def refund_standin(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    event = PaymentEvent.model_validate(parse_event_payload(context.get_input()))
    result = yield context.call_activity("refund_payment", {"paymentId": event.payment_id})
    return dict(result)


app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(clients.bp)
app.register_functions(standins)
