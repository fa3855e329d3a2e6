"""Outcome unknown, end to end: the airline books every flight request but answers after the app's
supplier timeout (the sandbox's `latencyAfterMs`), so each attempt the app sees as a timeout left a
real booking behind. The trip must go by train AND reclaim that hidden flight by its idempotency key
and undo it: nothing active but conference, rail and hotel, and no key booked twice.

This module's devhost has a short supplier timeout (its own `devhost` fixture, as in
test_chaos_timeouts.py), so the other modules keep the app's default.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import running_devhost
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.azurite import Azurite
from tests.support.devhost import DevhostProcess
from tests.support.sandbox import SandboxProcess

pytestmark = pytest.mark.e2e

SUPPLIER_TIMEOUT_SECONDS = 1.0
MAX_ATTEMPTS = 3
LATE_MS = 1500  # the airline books at once and answers after the app has given up on the call
BOUND_SECONDS = 30.0


@pytest.fixture(scope="module")
def devhost(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[DevhostProcess]:
    overrides = {
        "SUPPLIER_RETRY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "SUPPLIER_TIMEOUT_SECONDS": str(SUPPLIER_TIMEOUT_SECONDS),
    }
    with running_devhost(azurite, sandbox, "E2EUnknown", settings=overrides) as host:
        yield host


def failed_flight_calls(journey: Journey, booking_id: str) -> int:
    return sum(
        1
        for e in journey.events(booking_id)
        if e.get("step") == "book_flight" and e.get("outcome") == "error"
    )


def test_a_flight_booked_behind_timeouts_is_reclaimed_and_undone_while_the_trip_goes_by_train(
    journey: Journey,
) -> None:
    sandbox = journey.sandbox_url
    email = unique_email()
    deadline = time.monotonic() + BOUND_SECONDS
    try:
        journey.http.put(
            f"{sandbox}/_sandbox/faults/airline", json={"latencyAfterMs": LATE_MS}
        ).raise_for_status()
        booking_id = journey.book_ok(email, [trip()])
        # Let every normal attempt time out (each one books, or replays, at the airline), then let the
        # airline answer in time again, so the app's re-send of the same key gets the booking back.
        while failed_flight_calls(journey, booking_id) < MAX_ATTEMPTS:
            assert time.monotonic() < deadline, journey.events(booking_id)
            time.sleep(0.1)
        journey.http.delete(f"{sandbox}/_sandbox/faults").raise_for_status()
        final = journey.wait_final(booking_id, seconds=max(deadline - time.monotonic(), 1.0))
    finally:
        journey.http.delete(f"{sandbox}/_sandbox/faults")

    assert final["status"] == "Confirmed", final
    assert final["trips"][0]["travel"]["mode"] == "train"
    at_suppliers = journey.supplier_bookings(email)
    flights = [b for b in at_suppliers if b["supplier"] == "airline"]
    # The hidden booking existed (the fault did its job) and was undone, under the one key.
    assert [b["status"] for b in flights] == ["undone"], at_suppliers
    active = sorted(b["supplier"] for b in at_suppliers if b["status"] == "active")
    assert active == ["conference", "hotel", "rail"], at_suppliers
    journey.assert_made_once(email)
    undos = [e for e in journey.events(booking_id) if e.get("step") == "undo_flight"]
    assert undos and undos[-1].get("outcome") != "error", undos
