"""The `trip` sub-orchestrator through devhost's harness: ticket → travel → hotel, retries, fallback, undo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from booking import (
    FailureCode,
    RetryPolicy,
    Traveller,
    TravelMode,
    TripInput,
    TripRequest,
    TripStatus,
    TripView,
)
from devhost.history import RuntimeStatus
from devhost.testing import DurableHarness
from tests.orchestrators.world import money, timer_delays

POLICY = RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=3000, max_attempts=4)
TRIP_ID = "b-1:trip:0"


def trip_input(origin: str = "BER", conference: str = "serverlessdays-amsterdam-2027", hotel: bool = True):
    return TripInput(
        booking_id="b-1",
        index=0,
        trip=TripRequest(conference_id=conference, origin=origin, hotel=hotel),
        traveller=Traveller(name="Ada", email="ada@example.com"),
        retry=POLICY,
    ).to_wire()


def run_trip(harness: DurableHarness, **kwargs: Any) -> TripView:
    harness.start_new("trip", trip_input(**kwargs), TRIP_ID)
    status = harness.wait_for_completion(TRIP_ID)
    assert status.runtime_status is RuntimeStatus.Completed, status.output
    return status.output_as(TripView)


def mode_of(trip: TripView) -> TravelMode | None:
    return trip.travel.mode if trip.travel is not None else None


def failure_of(trip: TripView) -> FailureCode | None:
    return trip.failure.code if trip.failure is not None else None


def test_books_ticket_then_flight_for_the_conference_dates_then_hotel_for_the_travel_dates(world):
    harness, suppliers = world
    trip = run_trip(harness)

    assert trip.status is TripStatus.BOOKED
    assert trip.travel is not None and trip.travel.mode is TravelMode.FLIGHT
    # Arrive the day before the conference, leave the day after; the hotel covers exactly that.
    assert trip.travel.outbound.date() == dt.date(2027, 6, 2)
    assert trip.travel.return_.date() == dt.date(2027, 6, 5)
    assert trip.hotel is not None
    assert (trip.hotel.check_in, trip.hotel.check_out) == (dt.date(2027, 6, 2), dt.date(2027, 6, 5))
    assert trip.hotel.price == money("435.00")
    assert suppliers.kinds() == ["flight", "hotel", "ticket"]
    keys = sorted(b.key for b in suppliers.bookings.values())
    assert keys == [f"{TRIP_ID}:flight", f"{TRIP_ID}:hotel", f"{TRIP_ID}:ticket"]


def test_flaky_airline_is_retried_with_exponential_backoff_on_durable_timers(world):
    harness, suppliers = world
    suppliers.flight_503s = 3
    trip = run_trip(harness)

    assert mode_of(trip) is TravelMode.FLIGHT
    assert suppliers.calls["book_flight"] == 4
    # first 1 s, ×2 each time, capped at 3 s
    assert timer_delays(harness.history(TRIP_ID)) == [dt.timedelta(seconds=s) for s in (1, 2, 3)]


def test_a_429_retry_after_longer_than_the_backoff_is_honoured(world):
    harness, suppliers = world
    suppliers.flight_429_after = dt.timedelta(seconds=7)
    run_trip(harness)

    assert timer_delays(harness.history(TRIP_ID)) == [dt.timedelta(seconds=7)]


def test_airline_down_spends_the_retries_then_takes_the_train(world):
    harness, suppliers = world
    suppliers.airline_down = True
    trip = run_trip(harness)

    assert trip.status is TripStatus.BOOKED and mode_of(trip) is TravelMode.TRAIN
    assert suppliers.calls["book_flight"] == POLICY.max_attempts
    assert len(timer_delays(harness.history(TRIP_ID))) == POLICY.max_attempts - 1


def test_no_flight_takes_the_train_without_retrying(world):
    harness, suppliers = world
    suppliers.no_flight_from = {"BER"}
    trip = run_trip(harness)

    assert mode_of(trip) is TravelMode.TRAIN
    assert suppliers.calls["book_flight"] == 1
    assert timer_delays(harness.history(TRIP_ID)) == []


def test_no_flight_and_no_train_fails_and_undoes_the_ticket(world):
    harness, suppliers = world
    suppliers.no_flight_from = suppliers.no_train_from = {"BER"}
    trip = run_trip(harness)

    assert trip.status is TripStatus.FAILED
    assert failure_of(trip) is FailureCode.NO_TRAVEL_ROUTE
    assert suppliers.active() == [] and suppliers.undo_order == ["ticket"]
    assert suppliers.calls["book_hotel"] == 0


def test_hotel_sold_out_undoes_travel_then_ticket(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Amsterdam"}
    trip = run_trip(harness)

    assert trip.status is TripStatus.FAILED and failure_of(trip) is FailureCode.HOTEL_UNAVAILABLE
    assert suppliers.undo_order == ["flight", "ticket"]  # reverse of booking order
    assert suppliers.active() == []


def test_undo_steps_are_retried_too(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Amsterdam"}
    suppliers.undo_503s = 2
    trip = run_trip(harness)

    assert trip.status is TripStatus.FAILED
    assert suppliers.active() == []
    assert suppliers.calls["undo_flight"] == 3 and suppliers.calls["undo_ticket"] == 3


def test_unknown_conference_fails_without_booking_anything(world):
    harness, suppliers = world
    trip = run_trip(harness, conference="no-such-conf")

    assert failure_of(trip) is FailureCode.CONFERENCE_NOT_FOUND
    assert suppliers.bookings == {}


def test_no_hotel_asked_books_no_hotel(world):
    harness, suppliers = world
    trip = run_trip(harness, hotel=False)

    assert trip.status is TripStatus.BOOKED and trip.hotel is None
    assert suppliers.kinds() == ["flight", "ticket"]


def test_custom_status_shows_the_trip_as_it_grows(world):
    harness, suppliers = world
    suppliers.flight_503s = 1
    harness.start_new("trip", trip_input(), TRIP_ID)
    harness.run_until_idle()  # ticket booked, flight failed once, waiting on the retry timer

    status = harness.get_status(TRIP_ID)
    assert status.runtime_status is RuntimeStatus.Running
    shown = TripView.model_validate(status.custom_status)
    assert shown.status is TripStatus.BOOKING
    assert shown.ticket is not None and shown.ticket.reference
    assert "travel" not in status.custom_status  # not booked yet: left out of the view, not null


def test_a_flight_booked_behind_every_timeout_is_reclaimed_by_its_key_and_undone_before_the_train(world):
    harness, suppliers = world
    suppliers.lost_answers["flight"] = POLICY.max_attempts  # every attempt books, then times out
    trip = run_trip(harness)

    assert trip.status is TripStatus.BOOKED and mode_of(trip) is TravelMode.TRAIN
    # The normal attempts, then the re-send that gets the hidden booking back by the same key.
    assert suppliers.calls["book_flight"] == POLICY.max_attempts + 1
    flights = [b for b in suppliers.bookings.values() if b.kind == "flight"]
    assert [(b.key, b.status) for b in flights] == [(f"{TRIP_ID}:flight", "undone")]
    assert suppliers.kinds() == ["hotel", "ticket", "train"]
    # Undone before the trip moves on: nothing is left behind whatever happens next.
    flight_calls = [c for c in suppliers.sequence if c in ("book_flight", "undo_flight", "book_train")]
    assert flight_calls[-2:] == ["undo_flight", "book_train"]
    # Only the reclaim (the re-send and its undo) waits longer for each answer.
    patient = [(name, bool(o.get("patient"))) for name, o in suppliers.orders if "flight" in name]
    assert patient == [("book_flight", False)] * POLICY.max_attempts + [
        ("book_flight", True),
        ("undo_flight", True),
    ]


def test_the_reclaim_keeps_trying_past_max_attempts_like_an_undo(world):
    harness, suppliers = world
    # The airline keeps losing answers well into the re-sends: the reclaim must outlast max_attempts.
    suppliers.lost_answers["flight"] = 3 * POLICY.max_attempts
    trip = run_trip(harness)

    assert mode_of(trip) is TravelMode.TRAIN
    assert suppliers.calls["book_flight"] == 3 * POLICY.max_attempts + 1
    assert suppliers.kinds("undone") == ["flight"] and suppliers.kinds() == ["hotel", "ticket", "train"]


def test_a_hotel_lost_behind_timeouts_is_undone_with_the_rest_of_the_failed_trip(world):
    harness, suppliers = world
    suppliers.lost_answers["hotel"] = POLICY.max_attempts
    trip = run_trip(harness)

    assert trip.status is TripStatus.FAILED and failure_of(trip) is FailureCode.SUPPLIER_UNAVAILABLE
    assert suppliers.active() == []
    assert suppliers.kinds("undone") == ["flight", "hotel", "ticket"]


def test_one_lost_answer_then_success_uses_that_booking_and_reclaims_nothing(world):
    harness, suppliers = world
    suppliers.lost_answers["flight"] = 1
    trip = run_trip(harness)

    assert mode_of(trip) is TravelMode.FLIGHT
    assert suppliers.calls["book_flight"] == 2 and suppliers.calls["undo_flight"] == 0
    assert suppliers.kinds() == ["flight", "hotel", "ticket"]


def test_a_refused_connection_proves_nothing_was_booked_so_nothing_is_reclaimed(world):
    harness, suppliers = world
    suppliers.airline_refuses = True
    trip = run_trip(harness)

    assert mode_of(trip) is TravelMode.TRAIN
    assert suppliers.calls["book_flight"] == POLICY.max_attempts  # no re-send after giving up
    assert suppliers.calls["undo_flight"] == 0
