"""Translation between the booking domain's models and the supplier clients' models, both ways
(the errors are mapped in `activities.activity`)."""

from __future__ import annotations

import suppliers
from booking.activity_io import Conference, HotelBooking, Leg, PaymentState, TicketBooking, TravelBooking
from booking.money import Money
from booking.request import Traveller


def traveller(t: Traveller) -> suppliers.Traveller:
    return suppliers.Traveller(name=t.name, email=t.email)


def money(m: suppliers.Money) -> Money:
    return Money(amount=m.amount, currency=m.currency)


def to_supplier_money(m: Money) -> suppliers.Money:
    return suppliers.Money(amount=m.amount, currency=m.currency)


def ticket(t: suppliers.Ticket) -> TicketBooking:
    c = t.conference
    return TicketBooking(
        reference=t.reference,
        price=money(t.price),
        conference=Conference(
            conference_id=c.conference_id,
            name=c.name,
            city=c.city,
            airport=c.airport,
            start_date=c.start_date,
            end_date=c.end_date,
        ),
    )


def _leg(leg: suppliers.Leg) -> Leg:
    return Leg.model_validate(
        {
            "number": leg.number,
            "from": leg.from_,
            "to": leg.to,
            "departure": leg.departure,
            "arrival": leg.arrival,
        }
    )


def travel(t: suppliers.TravelBooking) -> TravelBooking:
    return TravelBooking.model_validate(
        {
            "mode": t.mode.value,
            "reference": t.reference,
            "outbound": _leg(t.outbound),
            "return": _leg(t.return_),
            "price": money(t.price),
        }
    )


def hotel(r: suppliers.HotelReservation) -> HotelBooking:
    return HotelBooking(
        reference=r.reference,
        hotel_name=r.hotel.name,
        check_in=r.check_in,
        check_out=r.check_out,
        price=money(r.price),
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
