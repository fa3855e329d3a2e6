"""Inputs and outputs of the activities: orders in, outcomes out.

Every order carries the supplier idempotency key, derived by the orchestrator from its instance id
and step, because the runtime may run an activity more than once. A business outcome (no route,
sold out, unknown conference) is a result, never an exception: only transient failures raise.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from booking.money import Money
from booking.request import Traveller
from booking.status import ProviderPaymentStatus, TravelMode
from booking.view import Failure, HotelView, TicketView, TravelView
from booking.wire import WireModel

IdempotencyKey = str


class Activity(StrEnum):
    """Durable names of the activities, shared by the activities (which register under them) and the
    orchestrators (which call them), so neither side can drift from the other."""

    BOOK_TICKET = "book_ticket"
    UNDO_TICKET = "undo_ticket"
    BOOK_FLIGHT = "book_flight"
    UNDO_FLIGHT = "undo_flight"
    BOOK_TRAIN = "book_train"
    UNDO_TRAIN = "undo_train"
    BOOK_HOTEL = "book_hotel"
    UNDO_HOTEL = "undo_hotel"
    REQUEST_PAYMENT = "request_payment"
    CHECK_PAYMENT = "check_payment"
    LIST_PAYMENTS = "list_payments"
    CANCEL_PAYMENT = "cancel_payment"
    REFUND_PAYMENT = "refund_payment"
    REPORT_EXPENSES = "report_expenses"


class _Order(WireModel):
    idempotency_key: IdempotencyKey = Field(min_length=1, max_length=255)
    # True for a call that must finish (a reclaim): the activity waits much longer for each answer,
    # so a supplier slower than the normal timeout is still heard. None (off the wire) otherwise.
    patient: bool | None = None


# --- conference ticket ------------------------------------------------------------------------------


class TicketOrder(_Order):
    traveller: Traveller
    conference_id: str


class Conference(WireModel):
    conference_id: str
    name: str
    city: str
    airport: str
    start_date: date
    end_date: date


class TicketBooking(WireModel):
    reference: str
    price: Money
    conference: Conference

    def view(self) -> TicketView:
        return TicketView(reference=self.reference, price=self.price)


class TicketOutcome(WireModel):
    booking: TicketBooking | None = None
    failure: Failure | None = None


# --- travel (flight or train) -----------------------------------------------------------------------


class TravelOrder(_Order):
    traveller: Traveller
    origin: str
    destination: str
    outbound_date: date
    return_date: date


class Leg(WireModel):
    number: str
    from_: str = Field(alias="from")
    to: str
    departure: datetime
    arrival: datetime


class TravelBooking(WireModel):
    mode: TravelMode
    reference: str
    outbound: Leg
    return_: Leg = Field(alias="return")
    price: Money

    def view(self) -> TravelView:
        return TravelView.model_validate(
            {
                "mode": self.mode,
                "reference": self.reference,
                "outbound": self.outbound.departure,
                "return": self.return_.departure,
                "price": self.price,
            }
        )

    @property
    def check_in(self) -> date:
        # Long-haul arrivals can fall on the next day: the hotel starts when the traveller arrives.
        return self.outbound.arrival.date()

    @property
    def check_out(self) -> date:
        return self.return_.departure.date()


class TravelOutcome(WireModel):
    booking: TravelBooking | None = None
    failure: Failure | None = None


# --- hotel ------------------------------------------------------------------------------------------


class HotelOrder(_Order):
    traveller: Traveller
    city: str
    check_in: date
    check_out: date


class HotelBooking(WireModel):
    reference: str
    hotel_name: str
    check_in: date
    check_out: date
    price: Money

    def view(self) -> HotelView:
        return HotelView(
            reference=self.reference, check_in=self.check_in, check_out=self.check_out, price=self.price
        )


class HotelOutcome(WireModel):
    booking: HotelBooking | None = None
    failure: Failure | None = None


# --- undo (any supplier booking) --------------------------------------------------------------------


class UndoOrder(WireModel):
    """Undo is a DELETE on the resource: idempotent by nature, so it needs only the reference."""

    reference: str
    patient: bool | None = None  # as on `_Order`: wait much longer for each answer


class UndoOutcome(WireModel):
    reference: str
    # False when the supplier never knew the reference (nothing to undo): still a success.
    found: bool = True


# --- payment ----------------------------------------------------------------------------------------


class PaymentOrder(_Order):
    booking_id: str
    amount: Money
    callback_url: str
    traveller: Traveller
    description: str | None = None


class CheckPaymentOrder(WireModel):
    payment_id: str


class CancelPaymentOrder(WireModel):
    payment_id: str


class PaymentState(WireModel):
    """The provider's view of one payment (request, check and cancel all answer this)."""

    payment_id: str
    status: ProviderPaymentStatus
    amount: Money
    checkout_url: str | None = None
    failure_reason: str | None = None
    refunded_amount: Money | None = None


class ListPaymentsOrder(WireModel):
    booking_id: str


class BookingPayments(WireModel):
    """Every payment the provider holds for one booking, oldest first: the provider's own records."""

    payments: list[PaymentState]

    def others_succeeded(self, payment_id: str) -> list[PaymentState]:
        """Money taken for the booking under another payment id: never the booking's to keep."""
        succeeded = ProviderPaymentStatus.SUCCEEDED
        return [p for p in self.payments if p.payment_id != payment_id and p.status is succeeded]

    def find(self, payment_id: str) -> PaymentState | None:
        return next((p for p in self.payments if p.payment_id == payment_id), None)


class RefundOrder(_Order):
    payment_id: str
    reason: str


class RefundOutcome(WireModel):
    payment_id: str
    refunded: bool
    refund_id: str | None = None
    amount: Money | None = None
    # Why nothing was refunded (e.g. the payment never succeeded or was already refunded).
    detail: str | None = None


# --- expenses ---------------------------------------------------------------------------------------


class ExpenseLine(WireModel):
    category: Literal["ticket", "flight", "train", "hotel", "other"]
    description: str
    reference: str
    price: Money


class ExpenseOrder(_Order):
    booking_id: str
    traveller: Traveller
    lines: list[ExpenseLine] = Field(min_length=1, max_length=100)


class ExpenseReported(WireModel):
    reference: str
    total: Money
