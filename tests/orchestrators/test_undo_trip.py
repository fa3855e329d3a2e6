"""`undo_trip` seen through a booking whose undos keep failing: never reported as Undone."""

from __future__ import annotations

from booking import RetryPolicy
from tests.orchestrators.booking_run import (
    finish,
    start,
)


def test_an_undo_that_keeps_failing_is_not_reported_as_undone(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Oslo"}
    suppliers.undo_503s = 99  # the suppliers refuse every undo
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
        {"conferenceId": "ndc-oslo-2027", "origin": "MAD"},
    ]
    start(harness, trips=trips, retry=RetryPolicy(first_interval_ms=100, max_interval_ms=400, max_attempts=3))
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    # Honest about what is left: the booked trip could not be undone, so it does not say Undone.
    assert [t.status for t in view.trips] == ["Failed", "Failed"]
    assert suppliers.calls["undo_hotel"] == 3  # every undo was tried max_attempts times
