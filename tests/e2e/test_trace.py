"""One W3C trace per booking, end to end, against the real processes: the `traceparent` a client sends
with `POST /api/bookings` is the trace of every request the sandbox receives for that booking (through
devhost's start, the orchestrations, each activity and the supplier clients); a hostile traceparent
still makes the booking, in a fresh trace, and is never echoed nor logged."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import httpx
import pytest

from tests.e2e.journey import Journey, trip, unique_email
from tests.support.devhost import DevhostProcess

pytestmark = pytest.mark.e2e

W3C_V00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def _booking_body(email: str) -> dict[str, Any]:
    return {"traveller": {"name": "Ada Lovelace", "email": email}, "trips": [trip()], "currency": "EUR"}


def _post_booking(journey: Journey, email: str, headers: list[tuple[str, str]]) -> httpx.Response:
    return journey.http.post(f"{journey.api_url}/api/bookings", json=_booking_body(email), headers=headers)


def _confirmed_and_reported(journey: Journey, booking_id: str, seconds: float = 30) -> None:
    """The booking is Confirmed, and its expense report (the orchestration's last step, after Confirmed
    shows) has reached the sandbox."""
    booking = journey.wait_final(booking_id)
    assert booking["status"] == "Confirmed", booking
    url = f"{journey.sandbox_url}/_sandbox/requests"
    deadline = time.monotonic() + seconds
    while not journey.http.get(url, params={"idempotencyKeyPrefix": f"{booking_id}:expenses"}).json():
        assert time.monotonic() < deadline, f"booking {booking_id} never reported its expenses"
        time.sleep(0.1)


def _requests_of(journey: Journey, booking_id: str, email: str) -> list[dict[str, Any]]:
    """Every request the sandbox received for this booking: those under its idempotency keys, and those
    naming one of its supplier references or payments (undo keys, reads of a payment)."""
    ids = {booking_id}
    ids |= {b["reference"] for b in journey.supplier_bookings(email)}
    ids |= {p["paymentId"] for p in journey.payments(booking_id)}
    response = journey.http.get(f"{journey.sandbox_url}/_sandbox/requests")
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    return [
        r for r in rows if any(i in (r["idempotencyKey"] or "") or i in r["path"] for i in ids)
    ]


def _trace_ids(rows: list[dict[str, Any]]) -> set[str]:
    found = set()
    for r in rows:
        m = W3C_V00.fullmatch(r["traceparent"] or "")
        assert m is not None, f"{r['method']} {r['path']} carried no valid traceparent: {r['traceparent']!r}"
        found.add(m.group(1))
    return found


def test_every_supplier_request_of_a_booking_carries_the_clients_trace(journey: Journey) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    email = unique_email()
    response = _post_booking(journey, email, [("traceparent", traceparent)])
    assert response.status_code == 202, response.text
    booking_id = response.json()["bookingId"]
    _confirmed_and_reported(journey, booking_id)

    rows = _requests_of(journey, booking_id, email)
    # Every supplier the booking used, the payment and the expense report: each reached in this trace.
    assert {r["api"] for r in rows} >= {"conference", "airline", "hotel", "payment", "expense"}
    assert _trace_ids(rows) == {trace_id}
    # The supplier calls are children, not the client's own span.
    assert all(r["traceparent"] != traceparent for r in rows)
    made = {b["idempotencyKey"] for b in journey.supplier_bookings(email)}
    assert made <= {r["idempotencyKey"] for r in rows}


HOSTILE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOSTILE = {
    "future version": [("traceparent", f"ff-{HOSTILE_TRACE}-00f067aa0ba902b7-01")],
    "all-zero parent id": [("traceparent", f"00-{HOSTILE_TRACE}-{'0' * 16}-01")],
    "oversize": [("traceparent", f"00-{HOSTILE_TRACE}-00f067aa0ba902b7-01" + "<script>" * 400)],
    "two headers": [
        ("traceparent", f"00-{HOSTILE_TRACE}-00f067aa0ba902b7-01"),
        ("traceparent", f"00-{HOSTILE_TRACE}-00f067aa0ba902b8-01"),
    ],
}


@pytest.mark.parametrize("headers", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_traceparent_books_in_a_fresh_trace_and_is_never_echoed(
    journey: Journey, devhost: DevhostProcess, headers: list[tuple[str, str]]
) -> None:
    email = unique_email()
    response = _post_booking(journey, email, headers)
    assert response.status_code == 202, response.text
    booking_id = response.json()["bookingId"]
    _confirmed_and_reported(journey, booking_id)

    (fresh,) = _trace_ids(_requests_of(journey, booking_id, email))
    assert fresh != HOSTILE_TRACE
    for _, value in headers:
        assert value not in response.text and all(value not in v for v in response.headers.values())
        assert value not in journey.get(booking_id).text
        assert value not in devhost.output()
    assert HOSTILE_TRACE not in devhost.output()
