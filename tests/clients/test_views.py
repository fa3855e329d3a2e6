"""Rendering `GET /api/bookings/{id}` from the status object the SDK builds from the management API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from booking import BookingInput, BookingRequest, BookingStatus, FailureCode, OrchestrationSettings
from booking.errors import BookingNotFound
from clients.views import booking_input, booking_resource, current_view, retry_after_seconds

BOOKING_ID = "bk_" + "a" * 32
REQUEST = BookingRequest.model_validate(
    {
        "traveller": {"name": "Ada", "email": "ada@example.com"},
        "trips": [{"conferenceId": "ndc-oslo-2027", "origin": "BER"}, {"conferenceId": "x", "origin": "MAD"}],
    }
)
INPUT = BookingInput(
    booking_id=BOOKING_ID,
    request=REQUEST,
    settings=OrchestrationSettings(payment_callback_url="http://127.0.0.1:7071/api/webhooks/payments"),
    fingerprint=REQUEST.fingerprint(),
    created_at=datetime(2027, 1, 1, 10, tzinfo=UTC),
)
AWAITING = {
    "status": "AwaitingPayment",
    "trips": [
        {
            "conferenceId": "ndc-oslo-2027",
            "status": "Booked",
            "ticket": {"reference": "CT-1", "price": {"amount": "100.00", "currency": "EUR"}},
        }
    ],
    "total": {"amount": "100.00", "currency": "EUR"},
    "payment": {"status": "Pending", "paymentId": "pay_1", "checkoutUrl": "http://x/checkout/pay_1"},
}


def status(runtime: str, *, name: str | None = "booking", custom=None, output=None, as_text: bool = True):
    """The status JSON the extension returns (PROTOCOL.md §5.3); Python-started input is JSON text."""
    payload = {
        "name": name,
        "instanceId": BOOKING_ID,
        "runtimeStatus": runtime,
        "input": json.dumps(INPUT.to_wire()) if as_text else INPUT.to_wire(),
        "customStatus": custom,
        "output": output,
        "createdTime": "2027-01-01T10:00:00Z",
        "lastUpdatedTime": "2027-01-01T10:00:04Z",
    }
    return DurableOrchestrationStatus.from_json(payload)


@pytest.mark.parametrize("as_text", [True, False])
def test_a_booking_not_yet_started_is_pending_with_its_trips(as_text: bool) -> None:
    resource = booking_resource(BOOKING_ID, status("Pending", as_text=as_text))
    wire = resource.to_wire()
    assert wire["status"] == "Pending"
    assert [t["conferenceId"] for t in wire["trips"]] == ["ndc-oslo-2027", "x"]
    assert {t["status"] for t in wire["trips"]} == {"Booking"}
    assert wire["bookingId"] == BOOKING_ID
    assert wire["createdAt"] == "2027-01-01T10:00:00Z" and wire["updatedAt"] == "2027-01-01T10:00:04Z"
    assert wire["payment"] == {"status": "NotStarted"}


def test_a_running_booking_shows_its_custom_status() -> None:
    wire = booking_resource(BOOKING_ID, status("Running", custom=AWAITING)).to_wire()
    assert wire["status"] == "AwaitingPayment"
    assert wire["total"] == {"amount": "100.00", "currency": "EUR"}
    assert wire["payment"]["paymentId"] == "pay_1"
    assert wire["trips"][0]["ticket"]["reference"] == "CT-1"


def test_a_completed_booking_shows_its_output() -> None:
    confirmed = {**AWAITING, "status": "Confirmed", "payment": {"status": "Succeeded", "paymentId": "pay_1"}}
    view = current_view(status("Completed", custom=AWAITING, output=confirmed))
    assert view.status == BookingStatus.CONFIRMED


@pytest.mark.parametrize("runtime", ["Failed", "Terminated", "Canceled"])
def test_a_broken_orchestration_is_a_failed_booking_with_a_generic_code(runtime: str) -> None:
    view = current_view(
        status(runtime, custom=AWAITING, output="Orchestrator function 'booking' failed: boom")
    )
    assert view.status == BookingStatus.FAILED
    assert view.failure is not None and view.failure.code == FailureCode.INTERNAL_ERROR
    assert "boom" not in view.failure.message
    assert view.trips[0].ticket is not None  # what it had booked stays visible


def test_a_completed_orchestration_with_an_unreadable_output_is_failed_not_stuck() -> None:
    view = current_view(status("Completed", custom=AWAITING, output="garbage"))
    assert view.status == BookingStatus.FAILED


@pytest.mark.parametrize("name", ["trip", "late_payment_refund", None])
def test_other_orchestrations_are_not_bookings(name: str | None) -> None:
    with pytest.raises(BookingNotFound):
        booking_resource(BOOKING_ID, status("Running", name=name))


def test_an_unknown_instance_is_not_found() -> None:
    with pytest.raises(BookingNotFound):
        booking_resource(BOOKING_ID, DurableOrchestrationStatus.from_json(""))


def test_the_input_and_its_fingerprint_are_read_back() -> None:
    accepted = booking_input(status("Running"))
    assert accepted is not None and accepted.fingerprint == REQUEST.fingerprint()


def test_retry_after_only_while_not_final() -> None:
    assert retry_after_seconds(BookingStatus.BOOKING) == 2
    assert retry_after_seconds(BookingStatus.AWAITING_PAYMENT) == 5
    for final in ("Confirmed", "Failed", "Cancelled", "Expired"):
        assert retry_after_seconds(BookingStatus(final)) is None
