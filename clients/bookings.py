"""The traveller's endpoints: start a booking, read it, cancel it.

Bad input is refused before anything is started: size, content type, JSON, Idempotency-Key, then
the booking/ models. With an Idempotency-Key the booking id is derived from the key, and the
request fingerprint stored in the orchestration input decides replay (202) or misuse (422).
"""

import logging
from datetime import UTC, datetime
from typing import cast

import azure.durable_functions as df
import azure.functions as func

import telemetry
from booking import CANCEL_REQUESTED, BookingInput, BookingRequest, BookingStatus, CancelRequest
from booking.errors import BookingAlreadyFinal, BookingNotFound, IdempotencyKeyReused
from booking.orchestration import BOOKING_ORCHESTRATOR, trip_instance_id
from booking.settings import get_settings
from clients.blueprint import endpoint
from clients.body import check_size, is_json_content_type, parse_json, read_json
from clients.durable import raise_event, status_of
from clients.errors import DurableUnavailable, FieldError, InstanceGone, InstanceMissing, InvalidFields
from clients.idempotency import booking_id_for_key, check_key, is_booking_id, new_booking_id
from clients.responses import booking_links, json_response
from clients.validation import validate_input
from clients.views import booking_input, booking_resource, current_view, is_booking, retry_after_seconds
from suppliers.base import joined_trace

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "idempotency-key"
# The worker passes `context` (the function declares it); a direct call in a test may not.
_NO_CONTEXT = cast(func.Context, None)


def _accepted(req: func.HttpRequest, booking_id: str, status: BookingStatus) -> func.HttpResponse:
    links = booking_links(req, booking_id)
    headers = {"Location": links["self"], "Retry-After": str(retry_after_seconds(status) or 2)}
    body = {"bookingId": booking_id, "status": status.value, "links": links}
    return json_response(body, 202, headers)


async def _replay(
    client: df.DurableOrchestrationClient, req: func.HttpRequest, booking_id: str, key: str, fingerprint: str
) -> func.HttpResponse | None:
    """The answer for a key that already has a booking, or None when the key is new."""
    status = await status_of(client, booking_id)
    if not status:
        return None
    existing = booking_input(status)
    if not is_booking(status) or existing is None or existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused(key)
    logger.info("booking %s: Idempotency-Key replay", booking_id)
    return _accepted(req, booking_id, current_view(status).status)


@endpoint("bookings", "POST")
async def start_booking(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, context: func.Context = _NO_CONTEXT
) -> func.HttpResponse:
    raw_key = req.headers.get(IDEMPOTENCY_HEADER)
    key = check_key(raw_key) if raw_key is not None else None
    request = validate_input(BookingRequest, read_json(req))
    if repeat := request.repeated_conference():
        again, first = repeat
        message = f"repeats trips[{first}].conferenceId: book each conference once"
        raise InvalidFields([FieldError(f"trips[{again}].conferenceId", message)])
    fingerprint = request.fingerprint()
    settings = get_settings()

    booking_id = booking_id_for_key(key) if key else new_booking_id()
    if key and (replayed := await _replay(client, req, booking_id, key, fingerprint)):
        return replayed

    accepted = BookingInput(
        booking_id=booking_id,
        request=request,
        settings=settings.snapshot(),
        fingerprint=fingerprint,
        created_at=datetime.now(UTC),
    )
    try:
        # The SDK sends the current trace with the start: the booking's orchestration, its activities and
        # their supplier requests join the trace of this request, under the span `start booking`.
        with (
            joined_trace(context.trace_context if context is not None else None),
            telemetry.scope(
                booking_id=booking_id,
                instance_id=booking_id,
                function="start_booking",
                invocation_id=context.invocation_id if context is not None else None,
            ),
            telemetry.span("start booking"),
        ):
            await client.start_new(BOOKING_ORCHESTRATOR, booking_id, accepted.to_wire())
            logger.info("booking %s: started with %d trip(s)", booking_id, len(request.trips))
    except Exception as exc:
        # Two identical POSTs at once: the runtime refuses the second start for a Pending/Running
        # instance, and the first one's input says whether this is a replay or a misuse.
        if key and (replayed := await _replay(client, req, booking_id, key, fingerprint)):
            return replayed
        raise DurableUnavailable(f"start_new failed: {type(exc).__name__}") from exc
    return _accepted(req, booking_id, BookingStatus.PENDING)


@endpoint("bookings/{bookingId}", "GET")
async def get_booking(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    booking_id = req.route_params.get("bookingId", "")
    if not is_booking_id(booking_id):
        raise BookingNotFound(booking_id)
    resource = booking_resource(booking_id, await status_of(client, booking_id))
    retry = retry_after_seconds(resource.status)
    headers = {"Retry-After": str(retry)} if retry is not None else {}
    return json_response(resource.to_wire(), 200, headers)


def _cancel_reason(req: func.HttpRequest) -> CancelRequest:
    """An optional `{"reason": …}` body; an empty body is a plain cancel."""
    body = check_size(req)
    if not body.strip():
        return CancelRequest()
    if not is_json_content_type(req.headers.get("content-type")):
        return validate_input(CancelRequest, read_json(req))  # raises the content-type error
    return validate_input(CancelRequest, parse_json(body))


@endpoint("bookings/{bookingId}/cancel", "POST")
async def cancel_booking(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    booking_id = req.route_params.get("bookingId", "")
    if not is_booking_id(booking_id):
        raise BookingNotFound(booking_id)
    reason = _cancel_reason(req)
    status = await status_of(client, booking_id)
    if not is_booking(status):
        raise BookingNotFound(booking_id)
    view = current_view(status)
    if view.status.is_final:
        raise BookingAlreadyFinal(booking_id, view.status.value)
    try:
        await raise_event(client, booking_id, CANCEL_REQUESTED, reason.to_wire())
    except InstanceMissing:
        raise BookingNotFound(booking_id) from None
    except InstanceGone:
        # It ended between our read and the event: report what it ended as.
        ended = current_view(await status_of(client, booking_id)).status
        raise BookingAlreadyFinal(booking_id, ended.value) from None
    if view.status in (BookingStatus.PENDING, BookingStatus.BOOKING, BookingStatus.CANCELLING):
        await tell_trips(client, booking_id, len(view.trips), reason)
    logger.info("booking %s: cancel requested", booking_id)
    return json_response({"bookingId": booking_id, "status": "Cancelling"}, 202)


async def tell_trips(
    client: df.DurableOrchestrationClient, booking_id: str, trips: int, reason: CancelRequest
) -> None:
    """Raise the cancel into each trip too, so none starts another step (see `orchestrators.trip`).
    The booking already has it and decides the outcome: a trip not started yet or already done is
    skipped, and one that cannot be told now books on and is undone by the booking afterwards."""
    for index in range(trips):
        try:
            await raise_event(client, trip_instance_id(booking_id, index), CANCEL_REQUESTED, reason.to_wire())
        except (InstanceMissing, InstanceGone):
            pass
        except DurableUnavailable:
            logger.warning(
                "booking %s: trip %d not told of the cancel; the booking undoes it", booking_id, index
            )
