"""Compensation: unwind a trip's compensation stack (`booking.trip_steps.compensations`), newest
booking first, each undo retried like a booking.

Used by `trip` when it cannot finish, and by `undo_trip` when the booking gives up on trips that did
book (all or nothing).
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from booking.activity_io import UndoOrder
from booking.orchestration import RetryPolicy
from booking.status import ItemStatus
from booking.trip_steps import compensations
from booking.view import TripView
from orchestrators.steps import MUST_FINISH, Steps, log, with_backoff


def undo_bookings(
    context: df.DurableOrchestrationContext, trip: TripView, policy: RetryPolicy
) -> Steps[TripView]:
    """Undo what the trip booked, newest first (hotel, travel, ticket); the trip with each part
    `undone`, or `undo_failed` where every attempt failed.

    Each undo keeps trying for `MUST_FINISH` (a booking left active is the worse failure); one that
    still fails then is logged and left for an operator: it must not stop the other undos, and the
    supplier keeps the booking visible by its reference.
    """
    outcome: dict[str, Any] = {}
    for entry in reversed(compensations(trip)):
        booked = entry.item
        attempts = yield from with_backoff(
            context, entry.step.undo, UndoOrder(reference=booked.reference), policy, patience=MUST_FINISH
        )
        status = ItemStatus.UNDO_FAILED if attempts.gave_up else ItemStatus.UNDONE
        if attempts.gave_up:
            log(context, logging.ERROR, "could not undo %s: %s", booked.reference, attempts.error)
        outcome[entry.step.part] = booked.model_copy(update={"status": status})
    return trip.model_copy(update=outcome)


def all_undone(trip: TripView) -> bool:
    return all(part.status is ItemStatus.UNDONE for part in trip.parts())
