"""The breaker is on by default: devhost started as every other e2e module starts it (the chaos run
included: `tests/e2e/conftest.py`'s `devhost`, no version setting of its own) gives new bookings the
version in local.settings.json, 2.0, and their trips ask the supplier circuits before each call."""

from __future__ import annotations

import json

import pytest

from booking.circuit import CIRCUIT_ENTITY
from booking.orchestration import trip_instance_id
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.devhost import DevhostProcess

pytestmark = pytest.mark.e2e


def test_a_booking_on_the_default_devhost_asks_the_circuits(
    journey: Journey, devhost: DevhostProcess
) -> None:
    booking_id = journey.book_ok(unique_email(), [trip()])
    assert journey.wait_final(booking_id)["status"] == "Confirmed"
    url = f"{devhost.base_url}/runtime/webhooks/durabletask/instances/{trip_instance_id(booking_id, 0)}"
    history = journey.http.get(url, params={"showHistory": "true"}).json()["historyEvents"]
    asked = [
        (e["InstanceId"], json.loads(e["Input"])["op"])
        for e in history
        if e["EventType"] == "EventSent" and str(e.get("InstanceId", "")).startswith(f"@{CIRCUIT_ENTITY}@")
    ]
    assert asked == [
        (f"@{CIRCUIT_ENTITY}@conference", "ask"),
        (f"@{CIRCUIT_ENTITY}@airline", "ask"),
        (f"@{CIRCUIT_ENTITY}@hotel", "ask"),
    ]
