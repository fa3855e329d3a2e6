"""The sandbox's wire models: request bodies it validates and response bodies it sends.

camelCase on the wire, money as decimal strings. Request models forbid unknown fields so that a
client's typo is a clear 422, not a silently ignored value. The OpenAPI document is built from these.

The app defines the same primitives (amounts, currency codes, camelCase) in `booking` and
`suppliers`; this module keeps its own copy on purpose. The sandbox is the independent check of the
app's supplier clients, so it imports nothing from `booking`, `suppliers`, `activities`, `clients`
or `orchestrators` (tests/sandbox/test_independent.py pins it): a definition shared with the app
would let one mistake pass on both sides of the contract unseen.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _parse_amount(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if not isinstance(value, str) or not _AMOUNT.match(value):
        raise ValueError('must be a decimal string with at most two decimals, like "1234.50"')
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation as exc:  # unreachable after the regex, kept as a guard
        raise ValueError("not a decimal number") from exc


def format_amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def utc_now() -> datetime:
    """Now, to the millisecond: the precision of every timestamp the sandbox sends or stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    """A timestamp as the sandbox stores and sends it: UTC, milliseconds, `Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(utc_now())


Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,12}(\.\d{1,2})?$", "examples": ["1234.50"]}),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])]
Iata = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="IATA code", examples=["BER"])]
Email = Annotated[str, Field(pattern=_EMAIL, max_length=254)]


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class FieldError(Wire):
    field: str
    message: str


class Problem(Wire):
    """RFC 9457 problem details with a stable `code` member."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[FieldError] | None = None


class Money(Wire):
    amount: Amount
    currency: Currency


class Traveller(Wire):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Email


# ---- requests ------------------------------------------------------------------------------


class TicketRequest(Wire):
    conference_id: Annotated[str, Field(min_length=1, max_length=100)]
    traveller: Traveller


class TravelRequest(Wire):
    origin: Iata
    destination: Iata
    outbound_date: date
    return_date: date
    traveller: Traveller

    def cross_field_errors(self) -> list[FieldError]:
        errors = []
        if self.return_date < self.outbound_date:
            errors.append(FieldError(field="returnDate", message="must not be before outboundDate"))
        if self.origin == self.destination:
            errors.append(FieldError(field="destination", message="must differ from origin"))
        return errors


class ReservationRequest(Wire):
    city: Annotated[str, Field(min_length=1, max_length=100)]
    check_in: date
    check_out: date
    traveller: Traveller

    def cross_field_errors(self) -> list[FieldError]:
        nights = (self.check_out - self.check_in).days
        if nights < 1:
            return [FieldError(field="checkOut", message="must be after checkIn")]
        if nights > 30:
            return [FieldError(field="checkOut", message="at most 30 nights")]
        return []


def _deliverable_url(value: str) -> str:
    """An absolute http(s) URL the webhook sender can actually parse: the pattern alone let through
    `http://[::1` or `http://h:99999`, which then failed on every delivery attempt."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        raise ValueError("must be an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValueError("must be an absolute http(s) URL")
    return value


CallbackUrl = Annotated[
    str, Field(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2000), AfterValidator(_deliverable_url)
]


class PaymentRequest(Wire):
    amount: Amount
    currency: Currency
    booking_id: Annotated[str, Field(min_length=1, max_length=200)]
    callback_url: CallbackUrl
    traveller: Traveller
    description: Annotated[str, Field(max_length=500)] | None = None

    def cross_field_errors(self) -> list[FieldError]:
        if self.amount <= 0:
            return [FieldError(field="amount", message="must be greater than 0")]
        return []


class RefundRequest(Wire):
    amount: Amount | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    def cross_field_errors(self) -> list[FieldError]:
        if self.amount is not None and self.amount <= 0:
            return [FieldError(field="amount", message="must be greater than 0")]
        return []


class ExpenseLine(Wire):
    category: Literal["ticket", "flight", "train", "hotel", "other"]
    description: Annotated[str, Field(min_length=1, max_length=500)]
    reference: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    amount: Amount
    currency: Currency


class ExpenseRequest(Wire):
    booking_id: Annotated[str, Field(min_length=1, max_length=200)]
    traveller: Traveller
    lines: Annotated[list[ExpenseLine], Field(min_length=1, max_length=100)]

    def cross_field_errors(self) -> list[FieldError]:
        first = self.lines[0].currency
        return [
            FieldError(field=f"lines[{i}].currency", message=f"all lines must be in {first}")
            for i, line in enumerate(self.lines)
            if line.currency != first
        ]


ApiName = Literal["conference", "airline", "rail", "hotel", "payment", "expense"]


class FaultSettings(Wire):
    error_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    seed: int = 0
    error_every: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    latency_ms: Annotated[int, Field(ge=0, le=30_000)] = 0
    # Delay after the request is handled and committed: a client that times out leaves it done.
    latency_after_ms: Annotated[
        int,
        Field(
            ge=0,
            le=30_000,
            description="ms to hold the answer back after the request is handled and committed",
        ),
    ] = 0
    rate_limit_every: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    retry_after_seconds: Annotated[int, Field(ge=0, le=3600)] = 1


class WebhookMode(Wire):
    mode: Literal["normal", "duplicate", "late", "out_of_order", "drop"] = "normal"
    copies: Annotated[int, Field(ge=1, le=10)] = 2
    late_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0


class ManualWebhook(Wire):
    type: Literal["payment.succeeded", "payment.failed"]
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    webhook_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")] | None = None
    copies: Annotated[int, Field(ge=1, le=10)] = 1
    delay_seconds: Annotated[float, Field(ge=0, le=3600)] = 0.0
    apply_status: bool = True


# ---- responses -----------------------------------------------------------------------------

BookingStatus = Literal["active", "undone"]
PaymentStatus = Literal["pending", "succeeded", "failed", "cancelled", "refunded"]


class ConferenceOut(Wire):
    conference_id: str
    name: str
    city: str
    country: str
    airport: str
    start_date: date
    end_date: date
    price: Money


class Ticket(Wire):
    reference: str
    status: BookingStatus
    conference: ConferenceOut
    price: Money
    created_at: datetime
    undone_at: datetime | None


class LegOut(Wire):
    model_config = ConfigDict(alias_generator=None, populate_by_name=True, extra="forbid")
    number: str
    from_: str = Field(alias="from")
    to: str
    departure: datetime
    arrival: datetime


class TravelBooking(Wire):
    reference: str
    status: BookingStatus
    mode: Literal["flight", "train"]
    origin: str
    destination: str
    outbound: LegOut
    return_: LegOut = Field(alias="return")
    price: Money
    created_at: datetime
    undone_at: datetime | None


class Offer(Wire):
    """A search result: one service on the asked day, with the return-trip price."""

    mode: Literal["flight", "train"]
    leg: LegOut
    price: Money


class FlightSearch(Wire):
    flights: list[Offer]


class JourneySearch(Wire):
    journeys: list[Offer]


class HotelOut(Wire):
    hotel_id: str
    name: str
    city: str


class HotelOffer(HotelOut):
    nightly_price: Money


class HotelSearch(Wire):
    hotels: list[HotelOffer]


class Reservation(Wire):
    reference: str
    status: BookingStatus
    hotel: HotelOut
    check_in: date
    check_out: date
    nights: int
    nightly_price: Money
    price: Money
    created_at: datetime
    undone_at: datetime | None


class Refund(Wire):
    refund_id: str
    payment_id: str
    amount: Amount
    currency: str
    reason: str | None
    status: Literal["succeeded"]
    created_at: datetime


class Payment(Wire):
    payment_id: str
    booking_id: str
    amount: Amount
    currency: str
    status: PaymentStatus
    checkout_url: str
    failure_reason: str | None
    refunded_amount: Amount
    refunds: list[Refund]
    created_at: datetime
    updated_at: datetime


class ExpenseReport(Wire):
    reference: str
    status: BookingStatus
    booking_id: str
    lines: list[ExpenseLine]
    total: Money
    created_at: datetime
    undone_at: datetime | None


class BookingListItem(Wire):
    supplier: Literal["conference", "airline", "rail", "hotel"]
    reference: str
    status: BookingStatus
    idempotency_key: str


class PaymentListItem(Wire):
    payment_id: str
    booking_id: str
    amount: Amount
    currency: str
    status: PaymentStatus


class ExpenseListItem(Wire):
    reference: str
    booking_id: str
    status: BookingStatus
    total: Money


class ReceivedRequest(Wire):
    """A request a supplier API received: no body or query, the traceparent exactly as sent (or null)."""

    api: str
    method: str
    path: str
    idempotency_key: str | None
    traceparent: str | None
    received_at: str


class Delivery(Wire):
    webhook_id: str
    payment_id: str
    type: str
    status: Literal["scheduled", "delivered", "failed", "dropped"]
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    url: str


class Health(Wire):
    status: Literal["ok"]
