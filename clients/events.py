"""`GET /api/bookings/{bookingId}/events`: the booking's timeline, from its orchestrations' history.

A booking is several orchestrations with ids derived from its own (booking/orchestration.py): the
booking, one `trip` and possibly one `undo_trip` per trip, and a `late_payment_refund` per payment
that came too late. Their histories are read concurrently and merged in time order.
"""

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from booking.errors import BookingNotFound
from booking.orchestration import refund_instance_id, trip_instance_id, undo_trip_instance_id
from clients.blueprint import endpoint
from clients.durable import status_of
from clients.idempotency import is_booking_id
from clients.responses import json_response
from clients.timeline import timeline
from clients.views import booking_input, current_view, is_booking, unwrap_json


def history_of(status: DurableOrchestrationStatus) -> list[dict[str, Any]]:
    """The runtime names it `historyEvents`; SDK 1.7.0 expects `history` (PROTOCOL.md §5.3): take either."""
    events = getattr(status, "historyEvents", None) or status.history or []
    return [event for event in events if isinstance(event, dict)]


def _payment_ids(status: DurableOrchestrationStatus, history: list[dict[str, Any]]) -> list[str]:
    ids = {current_view(status).payment.payment_id}
    for event in history:
        if event.get("EventType") == "EventRaised":
            payload = unwrap_json(event.get("Input"))
            if isinstance(payload, dict) and isinstance(payload.get("paymentId"), str):
                ids.add(payload["paymentId"])
    return sorted(i for i in ids if i)


@endpoint("bookings/{bookingId}/events", "GET")
async def booking_events(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    booking_id = req.route_params.get("bookingId", "")
    if not is_booking_id(booking_id):
        raise BookingNotFound(booking_id)
    status = await status_of(client, booking_id, history=True)
    if not is_booking(status):
        raise BookingNotFound(booking_id)
    history = history_of(status)
    accepted = booking_input(status)
    trips = range(len(accepted.request.trips) if accepted else 0)
    related = [(f"trip[{i}]", trip_instance_id(booking_id, i)) for i in trips]
    related += [(f"undo trip[{i}]", undo_trip_instance_id(booking_id, i)) for i in trips]
    related += [(f"refund {p}", refund_instance_id(p)) for p in _payment_ids(status, history)]
    statuses = await asyncio.gather(*(status_of(client, instance, history=True) for _, instance in related))
    histories = [("booking", history)]
    histories += [(scope, history_of(s)) for (scope, _), s in zip(related, statuses, strict=True) if s]
    return json_response(timeline(histories, current_view(status).payment.expires_at))
