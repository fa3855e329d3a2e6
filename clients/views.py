"""The booking as `GET /api/bookings/{id}` shows it, rendered from a Durable orchestration status.

The orchestrator publishes a `BookingView` as custom status at every step and returns the final one
as output; the runtime adds the times. An orchestration that itself Failed or was Terminated (a bug,
an operator) is shown as a Failed booking with a generic failure code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from pydantic import ValidationError

from booking import (
    BookingInput,
    BookingResource,
    BookingStatus,
    BookingView,
    Failure,
    FailureCode,
    TripStatus,
    TripView,
)
from booking.errors import BookingNotFound
from booking.orchestration import BOOKING_ORCHESTRATOR

_BROKEN = {
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
    OrchestrationRuntimeStatus.Canceled,
}
_INTERNAL_FAILURE = Failure(
    code=FailureCode.INTERNAL_ERROR,
    message="The booking stopped because of an internal error; our operators have been alerted.",
)


def unwrap_json(value: Any) -> Any:
    """Values the Python client stored come back as JSON text (PROTOCOL.md §5.3): decode until not text."""
    for _ in range(3):
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value


def booking_input(status: DurableOrchestrationStatus) -> BookingInput | None:
    """The orchestration's input (it holds the request fingerprint), if it is one of ours."""
    try:
        return BookingInput.model_validate(unwrap_json(status.input_))
    except ValidationError:
        return None


def is_booking(status: DurableOrchestrationStatus) -> bool:
    """Whether a status belongs to an existing booking orchestration (not a trip, a refund, nothing)."""
    return bool(status) and (status.name or "").lower() == BOOKING_ORCHESTRATOR


def _view_from(value: Any) -> BookingView | None:
    try:
        return BookingView.model_validate(unwrap_json(value)) if value is not None else None
    except ValidationError:
        return None


def _pending_view(status: DurableOrchestrationStatus) -> BookingView:
    accepted = booking_input(status)
    trips = [] if accepted is None else accepted.request.trips
    return BookingView(
        status=BookingStatus.PENDING,
        trips=[TripView(conference_id=t.conference_id, status=TripStatus.BOOKING) for t in trips],
    )


def current_view(status: DurableOrchestrationStatus) -> BookingView:
    """The booking view for any runtime status of a booking orchestration."""
    runtime = status.runtime_status
    view = None
    if runtime == OrchestrationRuntimeStatus.Completed:
        view = _view_from(status.output)
    view = view or _view_from(status.custom_status) or _pending_view(status)
    if runtime in _BROKEN or (runtime == OrchestrationRuntimeStatus.Completed and not view.status.is_final):
        return view.model_copy(update={"status": BookingStatus.FAILED, "failure": _INTERNAL_FAILURE})
    return view


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def booking_resource(booking_id: str, status: DurableOrchestrationStatus) -> BookingResource:
    """The `GET /api/bookings/{id}` body; `BookingNotFound` unless the status is a booking's."""
    if not is_booking(status):
        raise BookingNotFound(booking_id)
    view = current_view(status)
    return BookingResource.model_validate(
        {
            **view.model_dump(by_alias=True),
            "bookingId": booking_id,
            "createdAt": _utc(status.created_time),
            "updatedAt": _utc(status.last_updated_time),
        }
    )


def retry_after_seconds(status: BookingStatus) -> int | None:
    """How long a client should wait before polling again; None once the booking is final."""
    if status.is_final:
        return None
    # Waiting for a traveller to pay is slow; booking suppliers takes seconds.
    return 5 if status == BookingStatus.AWAITING_PAYMENT else 2
