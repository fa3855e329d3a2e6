"""The `trip` sub-orchestrator: one conference trip, booked as Shilkov's three steps.

    ticket = book the conference ticket
    travel = book a flight for the conference's dates (retried; a train when there is no flight)
    hotel  = book a hotel for the travel's dates

A trip that cannot finish undoes what it booked, newest first, and returns a `Failed` view: it
never raises, because its parent could only see a raised failure as a message string. A step that
gives up after timeouts that may have booked first reclaims and undoes that booking (`book_step`).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import azure.durable_functions as df

from booking.activity_io import (
    Activity,
    Conference,
    HotelOrder,
    HotelOutcome,
    TicketOrder,
    TicketOutcome,
    TravelBooking,
    TravelOrder,
    TravelOutcome,
)
from booking.orchestration import TRIP_ORCHESTRATOR, TripInput
from booking.status import FailureCode, TripStatus
from booking.view import HotelView, TicketView, TravelView, TripView
from orchestrators._blueprint import bp
from orchestrators.outcomes import TripFailed
from orchestrators.reclaim import book_step
from orchestrators.steps import log
from orchestrators.undo import undo_bookings


class TripProgress:
    """The trip's view as it grows; published as the trip's custom status after every step."""

    def __init__(self, context: df.DurableOrchestrationContext, order: TripInput) -> None:
        self._context = context
        self.conference_id = order.trip.conference_id
        self.ticket: TicketView | None = None
        self.travel: TravelView | None = None
        self.hotel: HotelView | None = None

    def view(self, status: TripStatus, failure: TripFailed | None = None) -> TripView:
        return TripView(
            conference_id=self.conference_id,
            status=status,
            ticket=self.ticket,
            travel=self.travel,
            hotel=self.hotel,
            failure=None if failure is None else failure.failure,
        )

    def publish(self) -> None:
        self._context.set_custom_status(self.view(TripStatus.BOOKING).to_wire())


@bp.orchestration_trigger(context_name="context", orchestration=TRIP_ORCHESTRATOR)  # type: ignore[untyped-decorator]
def trip(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    order = TripInput.from_wire(context.get_input())
    progress = TripProgress(context, order)
    progress.publish()
    try:
        yield from book_trip(context, order, progress)
    except Exception as exc:
        # A bug rather than a supplier outcome still ends as this trip's failure, already undone.
        failed = (
            exc if isinstance(exc, TripFailed) else TripFailed(FailureCode.INTERNAL_ERROR, "trip not booked")
        )
        log(context, logging.INFO, "trip %d failed: %s", order.index, failed.failure.code)
        return progress.view(TripStatus.FAILED, failed).to_wire()
    return progress.view(TripStatus.BOOKED).to_wire()


def book_trip(
    context: df.DurableOrchestrationContext, order: TripInput, progress: TripProgress
) -> Generator[Any, Any, None]:
    try:
        conference = yield from book_conference(context, order, progress)
        stay = yield from book_travel(context, order, conference, progress)
        if order.trip.hotel:
            yield from book_hotel(context, order, conference, stay, progress)
    except Exception:
        # Durable Functions has no rollback: a completed activity stays done (its result is in the
        # history) and its supplier booking stays real. So the trip compensates itself, newest
        # booking first, before the failure goes on.
        undone = yield from undo_bookings(context, progress.view(TripStatus.FAILED), order.retry)
        progress.ticket, progress.travel, progress.hotel = undone.ticket, undone.travel, undone.hotel
        raise


def book_conference(
    context: df.DurableOrchestrationContext, order: TripInput, progress: TripProgress
) -> Generator[Any, Any, Conference]:
    ticket_order = TicketOrder(
        idempotency_key=step_key(context, "ticket"),
        traveller=order.traveller,
        conference_id=order.trip.conference_id,
    )
    attempts = yield from book_step(context, Activity.BOOK_TICKET, ticket_order, order.retry)
    if attempts.gave_up:
        raise TripFailed(FailureCode.SUPPLIER_UNAVAILABLE, "the conference ticketing service is unavailable")
    outcome = TicketOutcome.from_wire(attempts.result)
    if outcome.booking is None:
        raise rejected(outcome.failure, FailureCode.CONFERENCE_NOT_FOUND, "no ticket to be had")
    progress.ticket = outcome.booking.view()
    progress.publish()
    return outcome.booking.conference


@dataclass(frozen=True)
class Stay:
    """The nights the traveller is in the conference city, as the travel (or the conference) gives them."""

    check_in: date
    check_out: date


def book_travel(
    context: df.DurableOrchestrationContext, order: TripInput, conference: Conference, progress: TripProgress
) -> Generator[Any, Any, Stay]:
    """A flight for the conference's dates (arrive the day before, leave the day after); a train when
    the airline has no route or stays unavailable after every retry."""
    if order.trip.origin == conference.airport:
        # A local traveller needs no travel; the hotel (if asked for) covers the conference days.
        return Stay(
            conference.start_date, max(conference.end_date, conference.start_date + timedelta(days=1))
        )
    travel_order = TravelOrder(
        idempotency_key=step_key(context, "flight"),
        traveller=order.traveller,
        origin=order.trip.origin,
        destination=conference.airport,
        outbound_date=conference.start_date - timedelta(days=1),
        return_date=conference.end_date + timedelta(days=1),
    )
    flight = yield from book_step(context, Activity.BOOK_FLIGHT, travel_order, order.retry)
    booked = None if flight.gave_up else TravelOutcome.from_wire(flight.result).booking
    if booked is None:
        log(context, logging.INFO, "trip %d: no flight, trying the train", order.index)
        train_order = travel_order.model_copy(update={"idempotency_key": step_key(context, "train")})
        train = yield from book_step(context, Activity.BOOK_TRAIN, train_order, order.retry)
        if train.gave_up:
            raise TripFailed(
                FailureCode.SUPPLIER_UNAVAILABLE, "neither the airline nor the railway is available"
            )
        booked = TravelOutcome.from_wire(train.result).booking
        if booked is None:
            if flight.gave_up:
                raise TripFailed(
                    FailureCode.SUPPLIER_UNAVAILABLE, "the airline is unavailable and no train goes there"
                )
            raise TripFailed(
                FailureCode.NO_TRAVEL_ROUTE,
                f"no flight or train from {order.trip.origin} to {conference.airport}",
            )
    progress.travel = booked.view()
    progress.publish()
    return stay_of(booked)


def stay_of(travel: TravelBooking) -> Stay:
    # At least one night, even for a same-day return.
    return Stay(travel.check_in, max(travel.check_out, travel.check_in + timedelta(days=1)))


def book_hotel(
    context: df.DurableOrchestrationContext,
    order: TripInput,
    conference: Conference,
    stay: Stay,
    progress: TripProgress,
) -> Generator[Any, Any, None]:
    hotel_order = HotelOrder(
        idempotency_key=step_key(context, "hotel"),
        traveller=order.traveller,
        city=conference.city,
        check_in=stay.check_in,
        check_out=stay.check_out,
    )
    attempts = yield from book_step(context, Activity.BOOK_HOTEL, hotel_order, order.retry)
    if attempts.gave_up:
        raise TripFailed(FailureCode.SUPPLIER_UNAVAILABLE, "the hotel chain is unavailable")
    outcome = HotelOutcome.from_wire(attempts.result)
    if outcome.booking is None:
        raise rejected(outcome.failure, FailureCode.HOTEL_UNAVAILABLE, f"no hotel room in {conference.city}")
    progress.hotel = outcome.booking.view()
    progress.publish()


def rejected(failure: Any, default_code: FailureCode, default_message: str) -> TripFailed:
    if failure is None:
        return TripFailed(default_code, default_message)
    return TripFailed(failure.code, failure.message)


def step_key(context: df.DurableOrchestrationContext, step: str) -> str:
    """Supplier idempotency key: the trip's instance id (`<bookingId>:trip:<n>`) and the step."""
    return f"{context.instance_id}:{step}"
