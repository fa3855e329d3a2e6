"""Hotel activities: reserve a room for the travel's nights, or undo the reservation."""

from __future__ import annotations

import logging
from typing import Any

import suppliers
from activities import suppliers_map as to
from activities.http import supplier_http
from activities.undo import undo_outcome
from booking.activity_io import HotelOrder, HotelOutcome, UndoOrder
from booking.settings import get_settings
from booking.status import FailureCode
from booking.view import Failure

log = logging.getLogger(__name__)


def _client(patient: bool | None = None) -> suppliers.HotelClient:
    return suppliers.HotelClient(supplier_http(str(get_settings().hotel_api_url), patient=patient))


async def book_hotel(order: Any) -> dict[str, Any]:
    hotel = HotelOrder.from_wire(order)
    async with to.supplier_errors():
        result = await _client(hotel.patient).book(
            hotel.city,
            hotel.check_in,
            hotel.check_out,
            to.traveller(hotel.traveller),
            idempotency_key=hotel.idempotency_key,
        )
    if isinstance(result, suppliers.Rejected):
        failure = Failure(
            code=FailureCode.HOTEL_UNAVAILABLE, message=f"no room in {hotel.city} for those nights"
        )
        return HotelOutcome(failure=failure).to_wire()
    log.info("hotel %s booked (%s)", result.reference, hotel.idempotency_key)
    return HotelOutcome(booking=to.hotel(result)).to_wire()


async def undo_hotel(order: Any) -> dict[str, Any]:
    undo = UndoOrder.from_wire(order)
    async with to.supplier_errors():
        result = await _client(undo.patient).undo(undo.reference)
    return undo_outcome(undo, result)
