"""SIGKILL devhost while 20 bookings are in flight, start it again: every booking ends where it would have.

What must hold after the restart, per the contract: each booking reaches the final status its scenario
tags determine, no supplier booking was made twice, and nothing is left behind for a failed booking.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.e2e.journey import Journey, trip, unique_email

pytestmark = pytest.mark.e2e

# scenario tags → (how many bookings, the status they must end in, the failure code if any)
SCENARIOS: dict[str, tuple[int, str, str | None]] = {
    "": (8, "Confirmed", None),
    "flaky": (3, "Confirmed", None),
    "noflight": (3, "Confirmed", None),
    "nohotel": (2, "Failed", "hotel_unavailable"),
    "decline": (2, "Failed", "payment_failed"),
    "noflight+notrain": (2, "Failed", "no_travel_route"),
}


def test_sigkill_with_twenty_bookings_in_flight(
    journey: Journey, kill_and_restart_devhost: Callable[[], None]
) -> None:
    started: list[tuple[str, str, str, str | None]] = []
    for tags, (count, status, code) in SCENARIOS.items():
        for _ in range(count):
            email = unique_email(tags)
            started.append((journey.book_ok(email, [trip()]), email, status, code))
    assert len(started) == 20

    # Let some work get under way (activities, timers, payments), then pull the plug mid-flight.
    time.sleep(1.0)
    in_flight = [b for b, *_ in started if journey.get(b).json()["status"] not in {"Confirmed", "Failed"}]
    kill_and_restart_devhost()

    for booking_id, email, status, code in started:
        booking = journey.wait_final(booking_id, seconds=120)
        assert booking["status"] == status, (email, booking)
        if code:
            assert booking["failure"]["code"] == code, booking
            journey.assert_nothing_left(email)
        else:
            suppliers = sorted(
                b["supplier"] for b in journey.supplier_bookings(email) if b["status"] == "active"
            )
            assert suppliers in (["airline", "conference", "hotel"], ["conference", "hotel", "rail"]), (
                suppliers
            )
        journey.assert_made_once(email)
    assert in_flight, "the kill came after every booking had finished: the test proved nothing"
