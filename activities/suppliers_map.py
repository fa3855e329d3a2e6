"""Translation between the booking domain and the supplier clients, in both directions.

Supplier errors become booking errors here: a transient failure raises `TransientSupplierError`,
whose message carries the supplier's Retry-After and whether the outcome is unknown (the call may
have been carried out without an answer) to the orchestrator (the only channel there is).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import suppliers
from booking.activity_io import Conference, HotelBooking, Leg, PaymentState, TicketBooking, TravelBooking
from booking.errors import SupplierProtocolError, TransientSupplierError
from booking.money import Money
from booking.request import Traveller


@asynccontextmanager
async def supplier_errors() -> AsyncIterator[None]:
    try:
        yield
    except suppliers.SupplierUnavailable as exc:
        retry_after = None if exc.retry_after is None else timedelta(seconds=exc.retry_after)
        raise TransientSupplierError(
            exc.supplier, _message(exc), retry_after=retry_after, outcome_unknown=exc.outcome_unknown
        ) from None
    except suppliers.SupplierProtocolError as exc:
        raise SupplierProtocolError(exc.supplier, _message(exc)) from None


def _message(exc: suppliers.SupplierError) -> str:
    return str(exc).removeprefix(f"{exc.supplier}: ")


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
