"""Travel activities: book or undo a return flight (airline) or train (railway); one shape, two networks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import suppliers
from activities import suppliers_map as to
from activities.http import supplier_http
from activities.undo import undo_outcome
from booking.activity_io import TravelOrder, TravelOutcome, UndoOrder
from booking.settings import get_settings
from booking.status import FailureCode
from booking.view import Failure

log = logging.getLogger(__name__)

Travel = suppliers.AirlineClient | suppliers.RailClient


def _airline(patient: bool | None = None) -> suppliers.AirlineClient:
    return suppliers.AirlineClient(supplier_http(str(get_settings().airline_api_url), patient=patient))


def _rail(patient: bool | None = None) -> suppliers.RailClient:
    return suppliers.RailClient(supplier_http(str(get_settings().rail_api_url), patient=patient))


async def _book(network: Callable[[bool | None], Travel], order: Any) -> dict[str, Any]:
    travel = TravelOrder.from_wire(order)
    client = network(travel.patient)
    async with to.supplier_errors():
        result = await client.book(
            travel.origin,
            travel.destination,
            travel.outbound_date,
            travel.return_date,
            to.traveller(travel.traveller),
            idempotency_key=travel.idempotency_key,
        )
    if isinstance(result, suppliers.Rejected):
        message = f"no {client.supplier} route {travel.origin}-{travel.destination}"
        return TravelOutcome(failure=Failure(code=FailureCode.NO_TRAVEL_ROUTE, message=message)).to_wire()
    log.info("%s %s booked (%s)", client.supplier, result.reference, travel.idempotency_key)
    return TravelOutcome(booking=to.travel(result)).to_wire()


async def book_flight(order: Any) -> dict[str, Any]:
    return await _book(_airline, order)


async def book_train(order: Any) -> dict[str, Any]:
    return await _book(_rail, order)


async def undo_flight(order: Any) -> dict[str, Any]:
    undo = UndoOrder.from_wire(order)
    async with to.supplier_errors():
        result = await _airline(undo.patient).undo(undo.reference)
    return undo_outcome(undo, result)


async def undo_train(order: Any) -> dict[str, Any]:
    undo = UndoOrder.from_wire(order)
    async with to.supplier_errors():
        result = await _rail(undo.patient).undo(undo.reference)
    return undo_outcome(undo, result)
