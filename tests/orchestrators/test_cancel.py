"""A cancel at every moment of a booking, through the harness (time skipping): no step that has not
started starts, a step in flight finishes and is undone, no payment is asked for, nothing is left
at a supplier. (The cancel during the payment wait and the one racing the success webhook are in
test_payment.py beside the rest of the payment wait.)"""

from __future__ import annotations

import datetime as dt

from booking import TripStatus, TripView
from booking.activity_io import Activity
from booking.orchestration import trip_instance_id
from devhost.history import RuntimeStatus
from tests.orchestrators.booking_run import BOOKING_ID, cancel, cancel_meanwhile, finish, start, status_of

TRIP = trip_instance_id(BOOKING_ID, 0)
TWO_TRIPS = [
    {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
    {"conferenceId": "europython-prague-2027", "origin": "BER"},
]


def assert_cancelled_with_nothing_left(harness, suppliers):
    view = finish(harness)
    assert view.status == "Cancelled" and view.failure.code == "cancelled_by_traveller"
    assert suppliers.active() == []
    assert suppliers.calls[Activity.REQUEST_PAYMENT] == 0 and view.payment.status == "NotStarted"
    return view


def test_a_cancel_while_the_ticket_is_at_the_supplier_stops_the_trip_before_its_travel(world):
    harness, suppliers = world
    suppliers.meanwhile[Activity.BOOK_TICKET] = cancel_meanwhile(harness)
    start(harness)

    view = assert_cancelled_with_nothing_left(harness, suppliers)
    # The ticket call was already at the supplier: it finished and was undone; nothing else started.
    assert suppliers.sequence == [Activity.BOOK_TICKET, Activity.UNDO_TICKET]
    (trip,) = view.trips
    assert trip.status == "Undone" and trip.ticket is not None and trip.ticket.status == "undone"
    assert trip.travel is None and trip.hotel is None


def test_a_cancel_during_a_retry_backoff_ends_the_wait_at_once(world):
    harness, suppliers = world
    suppliers.flight_503s = 3  # the airline answers 503 and the trip waits out its backoff
    start(harness)
    harness.run_until_idle()
    assert suppliers.calls[Activity.BOOK_FLIGHT] == 1
    before = harness.now

    cancel(harness)
    harness.run_until_idle()
    # Without skipping any time: the backoff timer lost to the cancel, no further attempt was made,
    # and no train was tried in the flight's place.
    trip = harness.get_status(TRIP)
    assert trip.runtime_status is RuntimeStatus.Completed
    assert trip.output_as(TripView).status is TripStatus.UNDONE
    assert status_of(harness).runtime_status is RuntimeStatus.Completed
    assert harness.now - before < dt.timedelta(seconds=1)
    assert suppliers.calls[Activity.BOOK_FLIGHT] == 1 and suppliers.calls[Activity.BOOK_TRAIN] == 0
    assert_cancelled_with_nothing_left(harness, suppliers)


def test_a_cancel_during_an_attempt_whose_answer_is_lost_still_reclaims_and_undoes_it(world):
    harness, suppliers = world
    # The first flight attempt books at the airline but its answer is lost (outcome unknown), while
    # the traveller cancels: the booking made under the trip's key is found again and undone.
    suppliers.lost_answers["flight"] = 1
    suppliers.meanwhile[Activity.BOOK_FLIGHT] = cancel_meanwhile(harness)
    start(harness)

    assert_cancelled_with_nothing_left(harness, suppliers)
    assert suppliers.kinds("undone") == ["flight", "ticket"]
    assert suppliers.calls[Activity.BOOK_FLIGHT] == 2  # the attempt, then the patient re-send (same key)
    assert suppliers.calls[Activity.BOOK_TRAIN] == 0 and suppliers.calls[Activity.BOOK_HOTEL] == 0


def test_a_cancel_reaches_every_trip_of_the_booking(world):
    harness, suppliers = world
    suppliers.meanwhile[Activity.BOOK_TICKET] = cancel_meanwhile(harness, trips=2)
    start(harness, trips=TWO_TRIPS)

    view = assert_cancelled_with_nothing_left(harness, suppliers)
    assert [t.status for t in view.trips] == ["Undone", "Undone"]
    assert suppliers.calls[Activity.BOOK_FLIGHT] == 0 and suppliers.calls[Activity.BOOK_HOTEL] == 0


def test_a_cancel_before_the_trips_exist_still_ends_the_booking_cancelled(world):
    harness, suppliers = world
    start(harness)
    cancel(harness)  # only the booking exists yet: the trips book, and the booking undoes them

    assert_cancelled_with_nothing_left(harness, suppliers)
    assert suppliers.kinds("undone") == ["flight", "hotel", "ticket"]
