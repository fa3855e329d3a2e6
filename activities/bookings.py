"""The trip's supplier steps at the suppliers: book a ticket, a flight or train, a hotel room (each
idempotent by the order's key), and undo any of them by reference.

A supplier's "no" (unknown conference, no route, no room) is an outcome, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import suppliers
from activities import suppliers_map as to
from activities.clients import SupplierClients
from booking.activity_io import (
    HotelOrder,
    HotelOutcome,
    TicketOrder,
    TicketOutcome,
    TravelOrder,
    TravelOutcome,
    UndoOrder,
    UndoOutcome,
)
from booking.status import FailureCode
from booking.trip_steps import SupplierStep
from booking.view import Failure

log = logging.getLogger(__name__)


async def book_ticket(order: TicketOrder, clients: SupplierClients) -> TicketOutcome:
    result = await clients.conference.book(
        order.conference_id, to.traveller(order.traveller), idempotency_key=order.idempotency_key
    )
    if isinstance(result, suppliers.Rejected):
        failure = Failure(
            code=FailureCode.CONFERENCE_NOT_FOUND, message=f"no conference {order.conference_id}"
        )
        return TicketOutcome(failure=failure)
    log.info("ticket %s booked (%s)", result.reference, order.idempotency_key)
    return TicketOutcome(booking=to.ticket(result))


def book_travel(
    step: SupplierStep[TravelOutcome],
) -> Callable[[TravelOrder, SupplierClients], Awaitable[TravelOutcome]]:
    """A return flight (airline) or train (railway): one shape, two networks."""

    async def book(order: TravelOrder, clients: SupplierClients) -> TravelOutcome:
        client = clients.booking(step)
        assert isinstance(client, suppliers.AirlineClient | suppliers.RailClient)
        result = await client.book(
            order.origin,
            order.destination,
            order.outbound_date,
            order.return_date,
            to.traveller(order.traveller),
            idempotency_key=order.idempotency_key,
        )
        if isinstance(result, suppliers.Rejected):
            message = f"no {client.supplier} route {order.origin}-{order.destination}"
            return TravelOutcome(failure=Failure(code=FailureCode.NO_TRAVEL_ROUTE, message=message))
        log.info("%s %s booked (%s)", client.supplier, result.reference, order.idempotency_key)
        return TravelOutcome(booking=to.travel(result))

    return book


async def book_hotel(order: HotelOrder, clients: SupplierClients) -> HotelOutcome:
    result = await clients.hotel.book(
        order.city,
        order.check_in,
        order.check_out,
        to.traveller(order.traveller),
        idempotency_key=order.idempotency_key,
    )
    if isinstance(result, suppliers.Rejected):
        failure = Failure(
            code=FailureCode.HOTEL_UNAVAILABLE, message=f"no room in {order.city} for those nights"
        )
        return HotelOutcome(failure=failure)
    log.info("hotel %s booked (%s)", result.reference, order.idempotency_key)
    return HotelOutcome(booking=to.hotel(result))


def undo(step: SupplierStep[Any]) -> Callable[[UndoOrder, SupplierClients], Awaitable[UndoOutcome]]:
    """Undo what `step` booked: a DELETE of the reference at the supplier that booked it. A reference
    the supplier never knew is fine too (nothing to undo)."""

    async def undo_booking(order: UndoOrder, clients: SupplierClients) -> UndoOutcome:
        result = await clients.booking(step).undo(order.reference)
        found = not isinstance(result, suppliers.Rejected)
        log.info("%s undone%s", order.reference, "" if found else " (unknown to the supplier)")
        return UndoOutcome(reference=order.reference, found=found)

    return undo_booking
