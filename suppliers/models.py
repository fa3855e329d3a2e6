"""Results of the supplier clients: what the APIs answer, typed, plus `Rejected` for business outcomes.

camelCase on the wire (aliases), snake_case in Python, money as Decimal. Models ignore fields they do
not know, so a supplier adding a field never breaks a booking.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel


def decimal_text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


# Decimal in Python, a two-decimal string on the wire ("1234.50").
Amount = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str, when_used="json")]


class SupplierModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    def to_wire(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class BookingStatus(StrEnum):
    ACTIVE = "active"
    UNDONE = "undone"


class TravelMode(StrEnum):
    FLIGHT = "flight"
    TRAIN = "train"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


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


class Rejected(SupplierModel):
    """The supplier said no, for good (retrying will not change it)."""

    supplier: str
    code: RejectionCode
    status: int
    detail: str


class Money(SupplierModel):
    amount: Amount
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Traveller(SupplierModel):
    """Who the booking is for; the email carries the sandbox's scenario tags."""

    name: str | None = None
    email: str


class Conference(SupplierModel):
    conference_id: str
    name: str
    city: str
    country: str | None = None
    airport: str
    start_date: date
    end_date: date
    price: Money


class Ticket(SupplierModel):
    reference: str
    status: BookingStatus
    conference: Conference
    price: Money
    created_at: datetime
    undone_at: datetime | None = None


class Leg(SupplierModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")
    number: str
    from_: str = Field(alias="from")
    to: str
    departure: datetime
    arrival: datetime


class TravelBooking(SupplierModel):
    reference: str
    status: BookingStatus
    mode: TravelMode
    origin: str
    destination: str
    outbound: Leg
    return_: Leg = Field(alias="return")
    price: Money
    created_at: datetime
    undone_at: datetime | None = None


class Offer(SupplierModel):
    """A search result: one service on the asked day and the return-trip price."""

    mode: TravelMode
    leg: Leg
    price: Money


class HotelRef(SupplierModel):
    hotel_id: str
    name: str
    city: str


class HotelOffer(HotelRef):
    nightly_price: Money


class HotelReservation(SupplierModel):
    reference: str
    status: BookingStatus
    hotel: HotelRef
    check_in: date
    check_out: date
    nights: int
    nightly_price: Money
    price: Money
    created_at: datetime
    undone_at: datetime | None = None


class Refund(SupplierModel):
    refund_id: str
    payment_id: str
    amount: Amount
    currency: str
    reason: str | None = None
    status: str
    created_at: datetime

    @property
    def money(self) -> Money:
        return Money(amount=self.amount, currency=self.currency)


class Payment(SupplierModel):
    payment_id: str
    booking_id: str
    amount: Amount
    currency: str
    status: PaymentStatus
    checkout_url: str
    failure_reason: str | None = None
    refunded_amount: Amount = Decimal("0.00")
    refunds: list[Refund] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @property
    def money(self) -> Money:
        return Money(amount=self.amount, currency=self.currency)


class ExpenseLine(SupplierModel):
    category: Literal["ticket", "flight", "train", "hotel", "other"]
    description: str
    amount: Amount
    currency: str
    reference: str | None = None


class ExpenseReport(SupplierModel):
    reference: str
    status: BookingStatus
    booking_id: str
    lines: list[ExpenseLine]
    total: Money
    created_at: datetime
    undone_at: datetime | None = None
