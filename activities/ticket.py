"""Conference ticket activities: book one (idempotent by key) and undo one."""

from __future__ import annotations

import logging
from typing import Any

import suppliers
from activities import suppliers_map as to
from activities.http import supplier_http
from activities.undo import undo_outcome
from booking.activity_io import TicketOrder, TicketOutcome, UndoOrder
from booking.settings import get_settings
from booking.status import FailureCode
from booking.view import Failure

log = logging.getLogger(__name__)


def _client(patient: bool | None = None) -> suppliers.ConferenceClient:
    return suppliers.ConferenceClient(supplier_http(str(get_settings().conference_api_url), patient=patient))


async def book_ticket(order: Any) -> dict[str, Any]:
    ticket_order = TicketOrder.from_wire(order)
    async with to.supplier_errors():
        result = await _client(ticket_order.patient).book(
            ticket_order.conference_id,
            to.traveller(ticket_order.traveller),
            idempotency_key=ticket_order.idempotency_key,
        )
    if isinstance(result, suppliers.Rejected):
        failure = Failure(
            code=FailureCode.CONFERENCE_NOT_FOUND, message=f"no conference {ticket_order.conference_id}"
        )
        return TicketOutcome(failure=failure).to_wire()
    log.info("ticket %s booked (%s)", result.reference, ticket_order.idempotency_key)
    return TicketOutcome(booking=to.ticket(result)).to_wire()


async def undo_ticket(order: Any) -> dict[str, Any]:
    undo = UndoOrder.from_wire(order)
    async with to.supplier_errors():
        result = await _client(undo.patient).undo(undo.reference)
    return undo_outcome(undo, result)
