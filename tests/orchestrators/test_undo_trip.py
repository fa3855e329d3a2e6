"""`undo_trip` seen through a booking whose undos keep failing: retried far beyond the attempts of a
booking step (a supplier booking left active is the worse failure), and never reported as Undone
unless it is."""

from __future__ import annotations

from datetime import timedelta

from booking import RetryPolicy
from orchestrators.steps import MUST_FINISH
from tests.orchestrators.booking_run import BOOKING_ID, finish, start
from tests.orchestrators.world import timer_delays

TRIPS = [
    {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
    {"conferenceId": "ndc-oslo-2027", "origin": "MAD"},
]


def test_an_undo_failing_past_max_attempts_keeps_trying_until_undone(world):
    # Regression (chaos run): a hotel undo that met four 503s in a row gave up and left the room booked.
    harness, suppliers = world
    suppliers.sold_out_cities = {"Oslo"}
    suppliers.undo_503s = 6  # twice the attempts of the policy below
    start(harness, trips=TRIPS, retry=RetryPolicy(first_interval_ms=100, max_interval_ms=400, max_attempts=3))
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    assert [t.status for t in view.trips] == ["Undone", "Failed"]
    # Each part says where it stands: the booked trip's parts, and the failed trip's own undone ones.
    parts = [p.status for t in view.trips for p in t.parts()]
    assert parts and set(parts) == {"undone"}
    assert suppliers.active() == []
    assert suppliers.calls["undo_hotel"] == 7


def test_an_undo_that_never_succeeds_gives_up_after_a_day_and_is_not_reported_as_undone(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Oslo"}
    suppliers.undo_503s = 10**6  # the suppliers refuse every undo
    hour = 3_600_000
    start(
        harness,
        trips=TRIPS,
        retry=RetryPolicy(first_interval_ms=hour, max_interval_ms=2 * hour, max_attempts=3),
    )
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    # Honest about what is left: the booked trip could not be undone, so it does not say Undone.
    assert [t.status for t in view.trips] == ["Failed", "Failed"]
    # And the parts name what is still active at a supplier, for an operator.
    assert {p.status for p in view.trips[0].parts()} == {"undo_failed"}
    assert suppliers.calls["undo_hotel"] > 3  # kept trying past max_attempts...
    undo = harness.history(f"{BOOKING_ID}:undo:0")
    waited = timer_delays(undo)
    # ...for a day per undo (hotel, flight, ticket), on timers no longer than the patient cap.
    assert sum(waited, timedelta()) >= 3 * MUST_FINISH
    assert max(waited) <= timedelta(hours=2)
