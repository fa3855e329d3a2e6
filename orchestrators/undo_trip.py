"""The `undo_trip` sub-orchestrator: undo one booked trip, so a booking can undo its trips in parallel."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from booking.orchestration import UNDO_TRIP_ORCHESTRATOR, UndoTripInput
from booking.status import TripStatus
from orchestrators._blueprint import bp
from orchestrators.steps import Steps
from orchestrators.undo import all_undone, undo_bookings


@bp.orchestration_trigger(context_name="context", orchestration=UNDO_TRIP_ORCHESTRATOR)  # type: ignore[untyped-decorator]
def undo_trip(context: df.DurableOrchestrationContext) -> Steps[dict[str, Any]]:
    order = UndoTripInput.from_wire(context.get_input())
    trip = yield from undo_bookings(context, order.trip, order.retry)
    # A trip whose undo did not complete stays visible as Failed rather than claiming Undone; its
    # parts say which one is still active (`undo_failed`).
    status = TripStatus.UNDONE if all_undone(trip) else TripStatus.FAILED
    return trip.model_copy(update={"status": status}).to_wire()
