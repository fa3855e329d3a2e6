"""Translation between the booking domain's models and the supplier clients' models, both ways
(money, legs and the travel mode are the same classes on both sides; the errors are mapped in
`activities.activity`)."""

from __future__ import annotations

import suppliers
from booking.activity_io import Conference, HotelBooking, PaymentState, TicketBooking, TravelBooking
from booking.request import Traveller


def traveller(t: Traveller) -> suppliers.Traveller:
    return suppliers.Traveller(name=t.name, email=t.email)


def ticket(t: suppliers.Ticket) -> TicketBooking:
    c = t.conference
    return TicketBooking(
        reference=t.reference,
        price=t.price,
        conference=Conference(
            conference_id=c.conference_id,
            name=c.name,
            city=c.city,
            airport=c.airport,
            start_date=c.start_date,
            end_date=c.end_date,
        ),
    )


def travel(t: suppliers.TravelBooking) -> TravelBooking:
    return TravelBooking.model_validate(
        {
            "mode": t.mode.value,
            "reference": t.reference,
            "outbound": t.outbound,
            "return": t.return_,
            "price": t.price,
        }
    )


def hotel(r: suppliers.HotelReservation) -> HotelBooking:
    return HotelBooking(
        reference=r.reference,
        hotel_name=r.hotel.name,
        check_in=r.check_in,
        check_out=r.check_out,
        price=r.price,
    )


def payment(p: suppliers.Payment) -> PaymentState:
    return PaymentState.model_validate(
        {
            "payment_id": p.payment_id,
            "status": p.status.value,
            "amount": p.money.to_wire(),
            "checkout_url": p.checkout_url,
            "failure_reason": p.failure_reason,
            "refunded_amount": {"amount": p.refunded_amount, "currency": p.currency},
        }
    )
