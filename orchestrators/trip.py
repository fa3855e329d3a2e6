"""The `trip` sub-orchestrator: one conference trip, booked as Shilkov's three steps.

    ticket = book the conference ticket
    travel = book a flight for the conference's dates (retried; a train when there is no flight)
    hotel  = book a hotel for the travel's dates

Around them, the compensation: every step that books adds its part to the trip's view, and the view is
the trip's compensation stack (`booking.trip_steps`). A trip that cannot finish unwinds it, newest
booking first, and returns a `Failed` view: it never raises, because its parent could only see a raised
failure as a message string. A step that gives up after timeouts that may have booked first reclaims
and undoes that booking (`orchestrators.reclaim`).

A traveller's cancel reaches the trip as an event of its own: the edge raises `CancelRequested` into
the booking and then into each trip (`clients.bookings.tell_trips`), because an orchestrator cannot
raise an event into another instance in this SDK, and only the trip knows which step it is in. The
trip keeps one wait for it (created once, PROTOCOL.md §30) and races it against every booking attempt
and every retry backoff: once it has arrived, no further step or attempt starts, a backoff ends at
once, and the stack is unwound. A call already at a supplier cannot be called back: it finishes, its
booking goes on the stack, and is undone with the rest. A cancel ordered after a step's answer in the
same batch of events is seen once that next step is under way (the orchestrator decides on what it
has seen so far, or replay would differ); that step is then undone like any other. The booking does
not depend on the trips being told: it waits for them and undoes whatever they booked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import azure.durable_functions as df

from booking.activity_io import Conference, HotelOrder, TicketOrder, TravelBooking, TravelOrder
from booking.circuit import CircuitPolicy
from booking.events import CANCEL_REQUESTED
from booking.orchestration import TRIP_ORCHESTRATOR, TripInput
from booking.status import FailureCode, TripStatus
from booking.trip_steps import FLIGHT, HOTEL, TICKET, TRAIN, OutcomeT, SupplierStep
from booking.view import Failure, TripView
from booking.wire import WireModel
from orchestrators._blueprint import bp
from orchestrators.breaker import Circuit, breaker_on
from orchestrators.outcomes import TripFailed
from orchestrators.reclaim import book_step
from orchestrators.steps import Steps, log
from orchestrators.undo import all_undone, undo_bookings


@bp.orchestration_trigger(context_name="context", orchestration=TRIP_ORCHESTRATOR)  # type: ignore[untyped-decorator]
def trip(context: df.DurableOrchestrationContext) -> Steps[dict[str, Any]]:
    run = TripRun(context, TripInput.from_wire(context.get_input()))
    run.publish()
    try:
        conference = yield from book_ticket(run)
        stay = yield from book_travel(run, conference)
        if run.order.trip.hotel:
            yield from book_hotel(run, conference, stay)
    except Exception as exc:
        # Durable Functions has no rollback: a completed activity stays done (its result is in the
        # history) and its supplier booking stays real. So the trip unwinds its compensation stack.
        # A bug rather than a supplier outcome still ends as this trip's failure, already undone.
        failed = exc if isinstance(exc, TripFailed) else defect()
        try:
            run.view = yield from undo_bookings(context, run.view, run.order.retry)
        except Exception:
            failed = defect()
        log(context, logging.INFO, "trip %d failed: %s", run.order.index, failed.failure.code)
        if failed.failure.code is FailureCode.CANCELLED_BY_TRAVELLER and all_undone(run.view):
            # Taken apart at the traveller's word, as the booking's own undo of a trip would end it.
            return run.ended(TripStatus.UNDONE)
        return run.ended(TripStatus.FAILED, failed.failure)
    return run.ended(TripStatus.BOOKED)


def defect() -> TripFailed:
    return TripFailed(FailureCode.INTERNAL_ERROR, "trip not booked")


def cancelled() -> TripFailed:
    return TripFailed(FailureCode.CANCELLED_BY_TRAVELLER, "cancelled by the traveller")


class TripRun:
    """One run of a trip: its context, its order, and its view (published as the trip's custom
    status after every booked step, and returned at the end)."""

    def __init__(self, context: df.DurableOrchestrationContext, order: TripInput) -> None:
        self.context = context
        self.order = order
        self.view = TripView(conference_id=order.trip.conference_id, status=TripStatus.BOOKING)
        # The traveller's cancel, raised into this trip by the edge beside the booking: created once,
        # raced against every booking attempt and backoff (PROTOCOL.md §30: one wait, kept open).
        self.cancel = context.wait_for_external_event(CANCEL_REQUESTED)
        # From version 2.0 every booking attempt asks the supplier's circuit breaker first; older trips
        # (parked before the deploy) keep their path. A 2.0 trip of a booking started before 2.0 has
        # no snapshot of the breaker's settings: it takes their defaults.
        self.circuit_policy: CircuitPolicy | None = None
        self.circuits: dict[str, Circuit] = {}
        if breaker_on(context):
            self.circuit_policy = order.circuit or CircuitPolicy()

    def publish(self) -> None:
        self.context.set_custom_status(self.view.to_wire())

    def ended(self, status: TripStatus, failure: Failure | None = None) -> dict[str, Any]:
        return self.view.model_copy(update={"status": status, "failure": failure}).to_wire()

    def key(self, step: SupplierStep[Any]) -> str:
        """Supplier idempotency key: the trip's instance id (`<bookingId>:trip:<n>`) and the step."""
        return f"{self.context.instance_id}:{step.name}"

    def circuit(self, step: SupplierStep[Any], policy: CircuitPolicy) -> Circuit:
        """The step's view of its supplier's circuit, one per supplier for the whole trip: the flight has a
        fallback (the train), so an open airline circuit sends the trip there at once, and the flight's
        failures peek at the rail's circuit for the train (`orchestrators.breaker`)."""
        if step.supplier not in self.circuits:
            fallback = self.circuit(TRAIN, policy) if step is FLIGHT else None
            self.circuits[step.supplier] = Circuit(
                self.context, step.supplier, policy, has_fallback=fallback is not None, fallback=fallback
            )
        return self.circuits[step.supplier]

    def book(self, step: SupplierStep[OutcomeT], order: WireModel) -> Steps[OutcomeT | None]:
        """Book one step (retried, an unknown outcome reclaimed); its outcome, None when the supplier
        stayed unavailable. A booking made is pushed on the compensation stack (the view) at once.
        Once the traveller has cancelled, no step starts and a retrying one stops: `TripFailed`
        (cancelled), which unwinds what was booked."""
        if self.cancel.is_completed:
            raise cancelled()
        circuit = None if self.circuit_policy is None else self.circuit(step, self.circuit_policy)
        attempts = yield from book_step(
            self.context, step, order, self.order.retry, stop=self.cancel, circuit=circuit
        )
        if attempts.stopped:
            raise cancelled()
        if attempts.gave_up:
            return None
        outcome = step.outcome.from_wire(attempts.result)
        if outcome.booking is not None:
            self.view = self.view.model_copy(update={step.part: outcome.booking.view()})
            self.publish()
        return outcome


def book_ticket(run: TripRun) -> Steps[Conference]:
    order = TicketOrder(
        idempotency_key=run.key(TICKET),
        traveller=run.order.traveller,
        conference_id=run.order.trip.conference_id,
    )
    outcome = yield from run.book(TICKET, order)
    if outcome is None:
        raise TripFailed(FailureCode.SUPPLIER_UNAVAILABLE, "the conference ticketing service is unavailable")
    if outcome.booking is None:
        raise rejected(outcome.failure, FailureCode.CONFERENCE_NOT_FOUND, "no ticket to be had")
    return outcome.booking.conference


@dataclass(frozen=True)
class Stay:
    """The nights the traveller is in the conference city, as the travel (or the conference) gives them."""

    check_in: date
    check_out: date


def book_travel(run: TripRun, conference: Conference) -> Steps[Stay]:
    """A flight for the conference's dates (arrive the day before, leave the day after); a train when
    the airline has no route or stays unavailable after every retry."""
    origin = run.order.trip.origin
    if origin == conference.airport:
        # A local traveller needs no travel; the hotel (if asked for) covers the conference days.
        return Stay(
            conference.start_date, max(conference.end_date, conference.start_date + timedelta(days=1))
        )
    order = TravelOrder(
        idempotency_key=run.key(FLIGHT),
        traveller=run.order.traveller,
        origin=origin,
        destination=conference.airport,
        outbound_date=conference.start_date - timedelta(days=1),
        return_date=conference.end_date + timedelta(days=1),
    )
    flight = yield from run.book(FLIGHT, order)
    booked = None if flight is None else flight.booking
    if booked is None:
        log(run.context, logging.INFO, "trip %d: no flight, trying the train", run.order.index)
        train = yield from run.book(TRAIN, order.model_copy(update={"idempotency_key": run.key(TRAIN)}))
        if train is None:
            raise TripFailed(
                FailureCode.SUPPLIER_UNAVAILABLE, "neither the airline nor the railway is available"
            )
        booked = train.booking
        if booked is None:
            if flight is None:
                raise TripFailed(
                    FailureCode.SUPPLIER_UNAVAILABLE, "the airline is unavailable and no train goes there"
                )
            raise TripFailed(
                FailureCode.NO_TRAVEL_ROUTE, f"no flight or train from {origin} to {conference.airport}"
            )
    return stay_of(booked)


def stay_of(travel: TravelBooking) -> Stay:
    # At least one night, even for a same-day return.
    return Stay(travel.check_in, max(travel.check_out, travel.check_in + timedelta(days=1)))


def book_hotel(run: TripRun, conference: Conference, stay: Stay) -> Steps[None]:
    order = HotelOrder(
        idempotency_key=run.key(HOTEL),
        traveller=run.order.traveller,
        city=conference.city,
        check_in=stay.check_in,
        check_out=stay.check_out,
    )
    outcome = yield from run.book(HOTEL, order)
    if outcome is None:
        raise TripFailed(FailureCode.SUPPLIER_UNAVAILABLE, "the hotel chain is unavailable")
    if outcome.booking is None:
        raise rejected(outcome.failure, FailureCode.HOTEL_UNAVAILABLE, f"no hotel room in {conference.city}")


def rejected(failure: Failure | None, default_code: FailureCode, default_message: str) -> TripFailed:
    if failure is None:
        return TripFailed(default_code, default_message)
    return TripFailed(failure.code, failure.message)
