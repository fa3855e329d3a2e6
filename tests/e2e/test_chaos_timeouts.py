"""Chaos, slow-supplier edition: every call to one supplier outlasts the app's supplier timeout.

A timed-out flight must fall back to the train, a timed-out hotel must fail the trip, and either way
the promises hold (nothing left behind, nothing kept). This module's devhost has a short supplier
timeout (its own `devhost` fixture, so the other modules keep the app's default).

Here the latency comes before the supplier handles the call, so a timed-out call books nothing; a
supplier that books and answers too late is tests/e2e/test_unknown_outcomes.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.chaos import Case, broken_promises, europe_trips
from tests.e2e.conftest import running_devhost
from tests.e2e.journey import FINAL_STATUSES, Journey
from tests.support.azurite import Azurite
from tests.support.devhost import DevhostProcess
from tests.support.sandbox import SandboxProcess

pytestmark = pytest.mark.e2e

SUPPLIER_TIMEOUT_SECONDS = 1.0
SLOW_MS = 1500  # every call to the slow supplier times out at the app, and books at the sandbox


@pytest.fixture(scope="module")
def devhost(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[DevhostProcess]:
    overrides = {
        "SUPPLIER_RETRY_MAX_ATTEMPTS": "3",
        "SUPPLIER_TIMEOUT_SECONDS": str(SUPPLIER_TIMEOUT_SECONDS),
    }
    with running_devhost(azurite, sandbox, "E2ESlow", settings=overrides) as host:
        yield host


@pytest.mark.parametrize("slow", ["airline", "hotel"])
def test_timed_out_bookings_are_never_left_behind(journey: Journey, slow: str) -> None:
    sandbox = journey.sandbox_url
    cases = [
        Case(f"{slow}-plain", "", europe_trips(1, 0), allowed={"Confirmed", "Failed"}),
        Case(f"{slow}-decline", "decline", europe_trips(1, 2), allowed={"Failed"}),
    ]
    try:
        journey.http.put(f"{sandbox}/_sandbox/faults/{slow}", json={"latencyMs": SLOW_MS}).raise_for_status()
        for case in cases:
            case.start(journey)
        for case in cases:
            journey.wait_final(case.booking_id)
        journey.http.delete(f"{sandbox}/_sandbox/faults").raise_for_status()
        deadline = time.monotonic() + 20
        while True:
            broken = {c.label: p for c in cases if (p := broken_promises(journey, c))}
            if not broken or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        journey.http.delete(f"{sandbox}/_sandbox/faults")
    assert not broken, broken
    assert all((c.final or {}).get("status") in FINAL_STATUSES for c in cases)
