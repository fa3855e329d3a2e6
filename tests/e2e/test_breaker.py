"""The supplier circuit breakers end to end: devhost on Azurite serving the app at version 2.0, the real
sandbox with the airline answering every request 503.

Bookings started at once during the outage all end Confirmed by train, most of them without waiting out
the airline's retries; the airline is called far less than once per attempt the retry policy allows;
`GET /api/suppliers` shows its circuit open, and still open after devhost is killed and restarted; once the
outage is over, a booking made one cool-down later flies again and the circuit is closed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import running_devhost
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.azurite import Azurite
from tests.support.devhost import DevhostProcess
from tests.support.sandbox import SandboxProcess

pytestmark = pytest.mark.e2e

BOOKINGS = 6
MAX_ATTEMPTS = 4
COOL_DOWN_SECONDS = 4
BREAKER = {
    "CIRCUIT_FAILURE_THRESHOLD": "3",
    "CIRCUIT_WINDOW_SECONDS": "60",
    "CIRCUIT_COOLDOWN_SECONDS": str(COOL_DOWN_SECONDS),
    "SUPPLIER_RETRY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    "AzureFunctionsJobHost__extensions__durableTask__defaultVersion": "2.0",
}


@pytest.fixture(scope="module")
def devhost(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[DevhostProcess]:
    with running_devhost(azurite, sandbox, "BRK", settings=BREAKER) as host:
        yield host


@pytest.fixture
def airline_down(journey: Journey) -> Iterator[None]:
    faults = f"{journey.sandbox_url}/_sandbox/faults"
    journey.http.delete(faults).raise_for_status()
    journey.http.put(f"{faults}/airline", json={"errorRate": 1.0, "seed": 1}).raise_for_status()
    try:
        yield
    finally:
        journey.http.delete(faults)


def suppliers(journey: Journey) -> dict[str, dict[str, Any]]:
    response = journey.http.get(f"{journey.api_url}/api/suppliers")
    assert response.status_code == 200, response.text
    return {s["supplier"]: s for s in response.json()["suppliers"]}


def airline_calls(journey: Journey, booking_id: str) -> int:
    response = journey.http.get(
        f"{journey.sandbox_url}/_sandbox/requests", params={"idempotencyKeyPrefix": booking_id}
    )
    response.raise_for_status()
    return sum(1 for r in response.json() if r["api"] == "airline")


def travel_of(journey: Journey, email: str) -> list[str]:
    return [b["supplier"] for b in journey.supplier_bookings(email) if b["supplier"] in ("airline", "rail")]


def test_with_the_airline_down_bookings_go_by_train_and_fly_again_once_it_is_back(
    journey: Journey, devhost: DevhostProcess, airline_down: None
) -> None:
    emails = [unique_email() for _ in range(BOOKINGS)]
    with ThreadPoolExecutor(BOOKINGS) as pool:
        booking_ids = list(pool.map(lambda email: journey.book_ok(email, [trip()]), emails))
    finals = [journey.wait_final(booking_id) for booking_id in booking_ids]

    assert [f["status"] for f in finals] == ["Confirmed"] * BOOKINGS, finals
    assert [travel_of(journey, email) for email in emails] == [["rail"]] * BOOKINGS
    # Without the breaker every booking tries the airline MAX_ATTEMPTS times; with it, once the circuit
    # has opened no booking calls it again.
    calls = [airline_calls(journey, booking_id) for booking_id in booking_ids]
    assert sum(calls) < BOOKINGS * MAX_ATTEMPTS / 2, calls
    # The timeline says so: trips skipped the airline because its circuit was open.
    skipped = [
        booking_id
        for booking_id in booking_ids
        if any(e["type"] == "circuit_open" and e["supplier"] == "airline" for e in journey.events(booking_id))
    ]
    assert skipped, "no booking's timeline shows the airline skipped"
    airline = suppliers(journey)["airline"]
    assert airline["circuit"] in ("open", "half_open"), airline
    assert airline["recentFailures"] >= 3 and "nextProbeAt" in airline

    # devhost killed (SIGKILL) while the circuit is open: the circuit is the entity's durable state, so
    # it comes back open, the same opening, and still gives way to a probe after its cool-down (below).
    devhost.restart(kill=True, same_port=True)
    after_crash = suppliers(journey)["airline"]
    assert after_crash["circuit"] in ("open", "half_open"), after_crash
    assert after_crash["openedAt"] == airline["openedAt"], (airline, after_crash)

    # The outage ends; one cool-down later the next booking's flight is the probe, and it flies.
    journey.http.delete(f"{journey.sandbox_url}/_sandbox/faults").raise_for_status()
    time.sleep(COOL_DOWN_SECONDS)
    email = unique_email()
    booking_id = journey.book_ok(email, [trip()])
    assert journey.wait_final(booking_id)["status"] == "Confirmed"
    assert travel_of(journey, email) == ["airline"]
    assert suppliers(journey)["airline"] == {"supplier": "airline", "circuit": "closed", "recentFailures": 0}


def test_the_suppliers_route_answers_every_trip_supplier(journey: Journey) -> None:
    listed = suppliers(journey)
    assert list(listed) == ["conference", "airline", "rail", "hotel"]
    with httpx.Client() as http:  # the route's document is in the OpenAPI description too
        doc = http.get(f"{journey.api_url}/api/openapi.json").json()
    assert "/api/suppliers" in doc["paths"]
