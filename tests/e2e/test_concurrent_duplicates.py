"""A few dozen identical POSTs with one Idempotency-Key at once, against the real processes (loopback,
bounded): every answer is the same booking, and exactly one booking is made at every supplier.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.journey import Journey, trip, unique_email
from tests.support.devhost import DevhostProcess

pytestmark = pytest.mark.e2e

CONCURRENT_POSTS = 30


async def _post_all(url: str, body: dict[str, Any], key: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT_POSTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        posts = [http.post(url, json=body, headers={"Idempotency-Key": key}) for _ in range(CONCURRENT_POSTS)]
        return list(await asyncio.gather(*posts))


def test_concurrent_duplicate_posts_make_exactly_one_booking(
    devhost: DevhostProcess, journey: Journey
) -> None:
    email = unique_email()
    body = {"traveller": {"name": "Ada Lovelace", "email": email}, "trips": [trip()], "currency": "EUR"}
    key = "dup-" + uuid.uuid4().hex

    responses = asyncio.run(_post_all(f"{devhost.base_url}/api/bookings", body, key))

    assert [r.status_code for r in responses] == [202] * CONCURRENT_POSTS, [r.text for r in responses]
    booking_ids = {r.json()["bookingId"] for r in responses}
    assert len(booking_ids) == 1, booking_ids
    (booking_id,) = booking_ids
    assert journey.wait_final(booking_id)["status"] == "Confirmed"
    made = journey.supplier_bookings(email)
    assert sorted(b["supplier"] for b in made) == ["airline", "conference", "hotel"], made
    assert len(journey.payments(booking_id)) == 1
    listed = journey.http.get(f"{devhost.base_url}/api/bookings", params={"limit": "100"}).json()["bookings"]
    assert [b["bookingId"] for b in listed].count(booking_id) == 1


CONCURRENT_CANCELS = 10


async def _cancel_all(url: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=CONCURRENT_CANCELS)) as http:
        return list(await asyncio.gather(*(http.post(url) for _ in range(CONCURRENT_CANCELS))))


def test_ten_cancels_at_once_while_booking_cancel_once_and_charge_nothing(
    devhost: DevhostProcess, journey: Journey
) -> None:
    # +down: the trips are in their flight retries while the cancels arrive.
    email = unique_email("down")
    booking_id = journey.book_ok(email, [trip(), trip("kubecon-barcelona-2027", "CDG")])
    journey.wait_for(booking_id, {"Booking"})

    responses = asyncio.run(_cancel_all(f"{devhost.base_url}/api/bookings/{booking_id}/cancel"))

    # Each is accepted while the booking is not final, or told it already is: never an error.
    assert {r.status_code for r in responses} <= {202, 409}, [r.text for r in responses]
    assert 202 in {r.status_code for r in responses}
    booking = journey.wait_final(booking_id)
    assert booking["status"] == "Cancelled" and booking["payment"]["status"] == "NotStarted"
    assert journey.payments(booking_id) == []
    journey.assert_nothing_left(email)
