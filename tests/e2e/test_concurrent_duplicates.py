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
