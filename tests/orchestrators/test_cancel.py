"""A cancel at every moment of a booking, through the harness (time skipping): no step that has not
started starts, a step in flight finishes and is undone, no payment is asked for, nothing is left
at a supplier. (The cancel during the payment wait and the one racing the success webhook are in
test_payment.py beside the rest of the payment wait.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from booking import CANCEL_REQUESTED, TripStatus, TripView
from booking.activity_io import Activity
from booking.orchestration import trip_instance_id
from devhost.history import EventType, HistoryEvent, RuntimeStatus
from devhost.testing import DurableHarness
from devhost.versioning import Versioning
from orchestrators.breaker import at_least
from tests.orchestrators.booking_run import (
    BOOKING_ID,
    KEPT_PATH,
    CancelJoinsTheBatch,
    await_payment,
    cancel,
    cancel_meanwhile,
    finish,
    start,
    status_of,
)
from tests.orchestrators.world import Suppliers, make_app

TRIP = trip_instance_id(BOOKING_ID, 0)
TWO_TRIPS = [
    {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
    {"conferenceId": "europython-prague-2027", "origin": "BER"},
]


@pytest.fixture(params=["", "3.0"], ids=["unversioned", "3.0"])
def world(request) -> Iterator[tuple[DurableHarness, Suppliers]]:
    """Every cancel below on the oldest path still running and on 3.0's (which reads a cancel from the
    batch of the trips' last result instead of waiting on a due-now timer, and has the breaker on)."""
    suppliers = Suppliers()
    with DurableHarness(make_app(), versioning=Versioning(default_version=request.param)) as harness:
        suppliers.install(harness)
        yield harness, suppliers


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


# --- a cancel that arrives in the same batch as the event the booking goes on to its payment from -----


def event_it_asks_for_payment_on(version: str, trips: list[dict[str, Any]] | None) -> HistoryEvent:
    """The event on which a booking of this version, run without a cancel, goes on to ask for its payment:
    the last that came in the batch whose episode schedules `request_payment`."""
    suppliers = Suppliers()
    with DurableHarness(make_app(), versioning=Versioning(default_version=version)) as harness:
        suppliers.install(harness)
        start(harness, trips=trips)
        await_payment(harness)
        history = harness.history(BOOKING_ID)
    asked = next(
        i
        for i, e in enumerate(history)
        if e["EventType"] == EventType.TaskScheduled and e["Name"] == Activity.REQUEST_PAYMENT
    )
    return next(e for e in reversed(history[:asked]) if e["EventType"] in RECEIVED)


def same_event(a: HistoryEvent, b: HistoryEvent) -> bool:
    key = "TimerId" if b["EventType"] == EventType.TimerFired else "TaskScheduledId"
    return bool(a["EventType"] == b["EventType"] and a.get(key) == b.get(key))


# What a batch brings (the rest of an episode's events are what it scheduled).
RECEIVED = {
    EventType.TimerFired,
    EventType.TaskCompleted,
    EventType.TaskFailed,
    EventType.SubOrchestrationInstanceCompleted,
    EventType.SubOrchestrationInstanceFailed,
    EventType.EventRaised,
}


@pytest.mark.parametrize(
    ("version", "trips"),
    [
        # Bookings started before 3.0 keep their path, defect included: after the trips they wait on a
        # due-now timer, and the SDK resumes them on its TimerFired before it reads the cancel behind it.
        pytest.param("", None, marks=KEPT_PATH, id="unversioned"),
        pytest.param("2.0", None, marks=KEPT_PATH, id="2.0"),
        pytest.param("3.0", None, id="3.0"),
        pytest.param("3.0", TWO_TRIPS, id="3.0-two-trips"),
    ],
)
def test_a_cancel_in_the_batch_the_booking_goes_on_from_ends_it_before_any_payment(version, trips):
    resumer = event_it_asks_for_payment_on(version, trips)
    if at_least(version, (3, 0)):
        # 3.0 has no due-now timer: it goes on from the last trip's result.
        assert resumer["EventType"] == EventType.SubOrchestrationInstanceCompleted
    else:
        assert resumer["EventType"] == EventType.TimerFired

    store = CancelJoinsTheBatch(lambda event: same_event(event, resumer))
    suppliers = Suppliers()
    with DurableHarness(make_app(), store=store, versioning=Versioning(default_version=version)) as harness:
        suppliers.install(harness)
        store.cancel = cancel_meanwhile(harness, trips=len(trips or [None]))
        start(harness, trips=trips)
        view = assert_cancelled_with_nothing_left(harness, suppliers)
        history = harness.history(BOOKING_ID)
    assert store.raised
    assert {t.status for t in view.trips} == {"Undone"}
    # The chosen event and the cancel came in one batch, the cancel right behind it.
    batch = batch_of(history, resumer)
    at = next(i for i, e in enumerate(batch) if same_event(e, resumer))
    assert batch[at + 1]["EventType"] == EventType.EventRaised and batch[at + 1]["Name"] == CANCEL_REQUESTED


def batch_of(history: list[HistoryEvent], member: HistoryEvent) -> list[HistoryEvent]:
    """The events of the episode whose batch holds `member`, from its OrchestratorStarted on."""
    at = next(i for i, e in enumerate(history) if same_event(e, member))
    first = max(i for i in range(at) if history[i]["EventType"] == EventType.OrchestratorStarted)
    end = next(
        (i for i in range(at, len(history)) if history[i]["EventType"] == EventType.OrchestratorStarted),
        len(history),
    )
    return history[first:end]
