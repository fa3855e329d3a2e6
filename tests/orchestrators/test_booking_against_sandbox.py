"""The booking orchestrator with the app's real activities against the real sandbox, time skipped.

No edge runs here, so no webhook reaches the booking: a paid booking is found by reconciliation at
the payment deadline, which is exactly the lost-webhook case.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from booking import BookingStatus, BookingView, FailureCode, RetryPolicy, TravelMode
from devhost.history import RuntimeStatus
from devhost.testing import DurableHarness
from tests.orchestrators.world import booking_input, make_app


@pytest.fixture
def harness(app_settings_on_sandbox):
    h = DurableHarness(make_app())
    yield h
    h.close()


def run(harness, email: str, trips=None) -> tuple[str, BookingView]:
    booking_id = f"b-{uuid.uuid4().hex[:10]}"
    policy = RetryPolicy(first_interval_ms=500, backoff=2.0, max_interval_ms=2000, max_attempts=4)
    harness.start_new(
        "booking", booking_input(trips, booking_id=booking_id, email=email, retry=policy), booking_id
    )
    status = harness.wait_for_completion(booking_id)
    assert status.runtime_status is RuntimeStatus.Completed, status.output
    return booking_id, status.output_as(BookingView)


def supplier_bookings(sandbox, email: str) -> list[dict[str, Any]]:
    url = f"{sandbox.url}/_sandbox/bookings"
    bookings: list[dict[str, Any]] = httpx.get(url, params={"email": email}).json()
    return bookings


def test_flaky_airline_booking_is_paid_and_found_by_reconciliation(harness, sandbox):
    email = f"ada+flaky+{uuid.uuid4().hex[:6]}@example.com"
    booking_id, view = run(harness, email)

    assert view.status is BookingStatus.CONFIRMED, view
    travel = view.trips[0].travel
    assert travel is not None and travel.mode is TravelMode.FLIGHT
    airline = [b for b in supplier_bookings(sandbox, email) if b["supplier"] == "airline"]
    assert len(airline) == 1 and airline[0]["status"] == "active"
    (payment,) = httpx.get(f"{sandbox.url}/_sandbox/payments", params={"bookingId": booking_id}).json()
    assert view.total is not None
    assert payment["status"] == "succeeded" and payment["amount"] == view.total.to_wire()["amount"]
    (report,) = httpx.get(f"{sandbox.url}/_sandbox/expenses", params={"bookingId": booking_id}).json()
    assert report["total"] == view.total.to_wire()


def test_no_travel_at_all_leaves_nothing_booked_and_asks_no_payment(harness, sandbox):
    email = f"ada+noflight+notrain+{uuid.uuid4().hex[:6]}@example.com"
    booking_id, view = run(harness, email)

    assert view.status is BookingStatus.FAILED
    assert view.failure is not None and view.failure.code is FailureCode.NO_TRAVEL_ROUTE
    assert [b["status"] for b in supplier_bookings(sandbox, email)] == ["undone"]
    assert httpx.get(f"{sandbox.url}/_sandbox/payments", params={"bookingId": booking_id}).json() == []


def test_declined_payment_undoes_all_three_trips(harness, sandbox):
    email = f"ada+decline+{uuid.uuid4().hex[:6]}@example.com"
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
        {"conferenceId": "europython-prague-2027", "origin": "LHR"},
        {"conferenceId": "kubecon-barcelona-2027", "origin": "CDG", "hotel": False},
    ]
    _, view = run(harness, email, trips)

    assert view.status is BookingStatus.FAILED
    assert view.failure is not None and view.failure.code is FailureCode.PAYMENT_FAILED
    bookings = supplier_bookings(sandbox, email)
    assert len(bookings) == 8 and {b["status"] for b in bookings} == {"undone"}
