"""Results of the supplier clients: what the APIs answer, typed, plus `Rejected` for business outcomes.

The wire primitives are the booking domain's, defined once there: `WireModel` (camelCase on the wire,
snake_case in Python, frozen, unknown fields ignored, so a supplier adding a field never breaks a
booking), `Money`, `Amount` and `CurrencyCode` (booking/money.py), `TravelMode` and
`ProviderPaymentStatus` (booking/status.py), a travel `Leg` (booking/activity_io.py). What only a
supplier knows is defined here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field

from booking.activity_io import Leg
from booking.money import Amount, CurrencyCode, Money
from booking.status import ProviderPaymentStatus, TravelMode
from booking.wire import WireModel


class SupplierBookingState(StrEnum):
    """A ticket, travel booking, hotel reservation or expense report at its supplier."""

    ACTIVE = "active"
    UNDONE = "undone"


class RejectionCode(StrEnum):
    """Permanent business outcomes, as the suppliers' problem `code` spells them."""

    CONFERENCE_NOT_FOUND = "conference_not_found"
    NO_ROUTE = "no_route"
    SOLD_OUT = "sold_out"
    BOOKING_NOT_FOUND = "booking_not_found"
    PAYMENT_NOT_FOUND = "payment_not_found"
    PAYMENT_NOT_REFUNDABLE = "payment_not_refundable"
    PAYMENT_NOT_CANCELLABLE = "payment_not_cancellable"
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"


class Rejected(WireModel):
    """The supplier said no, for good (retrying will not change it)."""

    supplier: str
    code: RejectionCode
    status: int
    detail: str


class Traveller(WireModel):
    """Who the booking is for; the email carries the sandbox's scenario tags."""

    name: str | None = None
    email: str


class SupplierBooking(WireModel):
    """What every supplier keeps of a booking it holds (ticket, travel, hotel, expense report):
    a reference to read or undo it by, and whether it is still active."""

    reference: str
    status: SupplierBookingState
    created_at: datetime
    undone_at: datetime | None = None


class Conference(WireModel):
    conference_id: str
    name: str
    city: str
    country: str | None = None
    airport: str
    start_date: date
    end_date: date
    price: Money


class Ticket(SupplierBooking):
    conference: Conference
    price: Money


class TravelBooking(SupplierBooking):
    mode: TravelMode
    origin: str
    destination: str
    outbound: Leg
    return_: Leg = Field(alias="return")
    price: Money


class Offer(WireModel):
    """A search result: one service on the asked day and the return-trip price."""

    mode: TravelMode
    leg: Leg
    price: Money


class HotelRef(WireModel):
    hotel_id: str
    name: str
    city: str


class HotelOffer(HotelRef):
    nightly_price: Money


class HotelReservation(SupplierBooking):
    hotel: HotelRef
    check_in: date
    check_out: date
    nights: int
    nightly_price: Money
    price: Money


class _Charge(WireModel):
    """A payment or a refund: the provider writes its money as two flat fields."""

    amount: Amount
    currency: CurrencyCode

    @property
    def money(self) -> Money:
        return Money(amount=self.amount, currency=self.currency)


class Refund(_Charge):
    refund_id: str
    payment_id: str
    reason: str | None = None
    status: str
    created_at: datetime


class Payment(_Charge):
    payment_id: str
    booking_id: str
    status: ProviderPaymentStatus
    checkout_url: str
    failure_reason: str | None = None
    refunded_amount: Amount = Decimal("0.00")
    refunds: list[Refund] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class ExpenseLine(WireModel):
    # Sent to the expense API: the fields keep the order of the body it has always received.
    category: Literal["ticket", "flight", "train", "hotel", "other"]
    description: str
    amount: Amount
    currency: CurrencyCode
    reference: str | None = None


class ExpenseReport(SupplierBooking):
    booking_id: str
    lines: list[ExpenseLine]
    total: Money
