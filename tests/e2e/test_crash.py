"""SIGKILL devhost while 20 bookings are in flight, start it again: every booking ends where it would have.

What must hold after the restart, per the contract: each booking reaches the final status its scenario
tags determine, no supplier booking was made twice, and nothing is left behind for a failed booking.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.journey import Journey, trip, unique_email
from tests.support.devhost import REPO_ROOT, devhost_command

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
    journey: Journey, kill_and_restart_devhost: Callable[[], None], tmp_path: Path
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

    # The kill -9 recovery path through the replay gate: every history the restart finished (bookings and
    # their trips) replays against the app as it is — recovery left nothing the code would not do.
    for name in ("booking", "trip"):
        exported = devhost_command(
            "history", "export", "--url", journey.api_url, "--name", name, "--out", str(tmp_path)
        )
        assert exported.returncode == 0, exported.stdout + exported.stderr
    replayed = devhost_command("replay", "--app-root", str(REPO_ROOT), str(tmp_path))
    assert replayed.returncode == 0, replayed.stdout
    assert len(list(tmp_path.glob("*.json"))) >= 40  # 20 bookings and their 20 trips (and others of this hub)
