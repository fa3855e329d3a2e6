"""The booking as the traveller sees it: the orchestrator's custom status and output, and `GET` body.

`BookingView` is what the orchestrator publishes at every step (kept small: the runtime caps custom
status at 16 KB); `BookingResource` adds what only the edge knows (id and times).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from booking.money import Money
from booking.status import BookingStatus, FailureCode, ItemStatus, PaymentStatus, TravelMode, TripStatus
from booking.wire import WireModel


class Failure(WireModel):
    code: FailureCode
    message: str


class BookedItem(WireModel):
    """What every part of a trip has: the supplier's reference, its price, and where it stands."""

    reference: str
    price: Money
    status: ItemStatus = ItemStatus.BOOKED


class TicketView(BookedItem):
    pass


class TravelView(BookedItem):
    mode: TravelMode
    # Departure instants of the outbound and return legs.
    outbound: datetime
    return_: datetime = Field(alias="return")


class HotelView(BookedItem):
    check_in: date
    check_out: date


class TripView(WireModel):
    """One trip of a booking; also the output of the `trip` sub-orchestrator."""

    conference_id: str
    status: TripStatus
    ticket: TicketView | None = None
    travel: TravelView | None = None
    hotel: HotelView | None = None
    failure: Failure | None = None

    def parts(self) -> list[BookedItem]:
        return [part for part in (self.ticket, self.travel, self.hotel) if part is not None]

    def prices(self) -> list[Money]:
        return [part.price for part in self.parts()]


class PaymentView(WireModel):
    status: PaymentStatus = PaymentStatus.NOT_STARTED
    payment_id: str | None = None
    checkout_url: str | None = None
    expires_at: datetime | None = None


class BookingView(WireModel):
    """The custom status of a `booking` orchestration, and its output once it ends."""

    status: BookingStatus
    trips: list[TripView]
    total: Money | None = None
    payment: PaymentView = PaymentView()
    failure: Failure | None = None


class BookingResource(BookingView):
    """`GET /api/bookings/{bookingId}`: the view plus the id and the runtime's times."""

    booking_id: str
    created_at: datetime
    updated_at: datetime
