"""Compensation: take a trip's supplier bookings apart, newest first, each undo retried like a booking.

Used inline by `trip` when it cannot finish, and by `undo_trip` when the booking gives up on trips
that did book (all or nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from booking.activity_io import Activity, UndoOrder
from booking.orchestration import RetryPolicy
from booking.status import ItemStatus, TravelMode
from booking.view import TripView
from orchestrators.steps import MUST_FINISH, log, with_backoff


def undo_bookings(
    context: df.DurableOrchestrationContext, trip: TripView, policy: RetryPolicy
) -> Generator[Any, Any, TripView]:
    """Undo hotel, travel, ticket (the reverse of booking); the trip with each part `undone`, or
    `undo_failed` where every attempt failed.

    Each undo keeps trying for `MUST_FINISH` (a booking left active is the worse failure); one that
    still fails then is logged and left for an operator: it must not stop the other undos, and the
    supplier keeps the booking visible by its reference.
    """
    travel_undo = Activity.UNDO_FLIGHT
    if trip.travel is not None and trip.travel.mode is TravelMode.TRAIN:
        travel_undo = Activity.UNDO_TRAIN
    steps = [
        ("hotel", Activity.UNDO_HOTEL, trip.hotel),
        ("travel", travel_undo, trip.travel),
        ("ticket", Activity.UNDO_TICKET, trip.ticket),
    ]
    outcome: dict[str, Any] = {}
    for field, activity, part in steps:
        if part is None or part.status is not ItemStatus.BOOKED:
            continue
        attempts = yield from with_backoff(
            context, activity, UndoOrder(reference=part.reference), policy, patience=MUST_FINISH
        )
        status = ItemStatus.UNDO_FAILED if attempts.gave_up else ItemStatus.UNDONE
        if attempts.gave_up:
            log(context, logging.ERROR, "could not undo %s: %s", part.reference, attempts.error)
        outcome[field] = part.model_copy(update={"status": status})
    return trip.model_copy(update=outcome)


def all_undone(trip: TripView) -> bool:
    return all(part.status is ItemStatus.UNDONE for part in trip.parts())
