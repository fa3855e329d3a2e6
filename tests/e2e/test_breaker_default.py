"""The default version, 3.0, with the breaker on: devhost started as every other e2e module starts it (the
chaos run included: `tests/e2e/conftest.py`'s `devhost`, no version setting of its own) gives new
bookings the version in local.settings.json, 3.0: their trips ask the supplier circuits before each
call (from 2.0 on), and the booking goes from its trips' results to the payment request without a
timer in between (3.0 reads a cancel from the batch of the last result instead)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from booking.activity_io import Activity
from booking.circuit import CIRCUIT_ENTITY
from booking.orchestration import TRIP_ORCHESTRATOR, trip_instance_id
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.devhost import DevhostProcess

pytestmark = pytest.mark.e2e


def history_of(journey: Journey, devhost: DevhostProcess, instance_id: str) -> list[dict[str, Any]]:
    url = f"{devhost.base_url}/runtime/webhooks/durabletask/instances/{instance_id}"
    response = journey.http.get(url, params={"showHistory": "true"})
    events: list[dict[str, Any]] = response.json()["historyEvents"]
    return events


def test_a_booking_on_the_default_devhost_asks_the_circuits(
    journey: Journey, devhost: DevhostProcess
) -> None:
    booking_id = journey.book_ok(unique_email(), [trip()])
    assert journey.wait_final(booking_id)["status"] == "Confirmed"
    history = history_of(journey, devhost, trip_instance_id(booking_id, 0))
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


def test_a_booking_on_the_default_devhost_asks_for_its_payment_right_after_its_trips(
    journey: Journey, devhost: DevhostProcess
) -> None:
    booking_id = journey.book_ok(unique_email(), [trip()])
    assert journey.wait_final(booking_id)["status"] == "Confirmed"
    steps = [(e["EventType"], e.get("FunctionName")) for e in history_of(journey, devhost, booking_id)]
    trips_done = steps.index(("SubOrchestrationInstanceCompleted", TRIP_ORCHESTRATOR))
    paid_asked = steps.index(("TaskCompleted", Activity.REQUEST_PAYMENT))
    # Before 3.0 a timer due at once came between them (TimerCreated, TimerFired).
    assert [kind for kind, _ in steps[trips_done:paid_asked] if kind.startswith("Timer")] == []
