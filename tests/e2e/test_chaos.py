"""Chaos: 49 bookings of every scenario under seeded supplier faults, every webhook mode and two
devhost SIGKILLs, then every promise of the product checked per booking.

Promises (per booking, through the public API and the sandbox's inspection endpoints only): it ends;
no supplier booking is made twice; money taken is either a Confirmed booking's one payment of its
total or refunded; a booking that did not confirm leaves nothing active at any supplier; a Confirmed
booking has exactly one active ticket, one travel and (if asked) one hotel per trip. Faults are
seeded (`chaos.FAULTS`) and reset in `finally`, so other modules see a clean sandbox.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.chaos import FAULTS, Case, act, broken_promises, europe_trips, wave
from tests.e2e.journey import FINAL_STATUSES, Journey
from tests.support.devhost import DevhostProcess

pytestmark = pytest.mark.e2e

# One webhook mode per wave of bookings.
MODES: list[dict[str, Any]] = [
    {"mode": "duplicate", "copies": 3},
    {"mode": "out_of_order"},
    {"mode": "late", "lateSeconds": 6},
    {"mode": "drop"},
]
# SIGKILL + restart of devhost: while wave 2's bookings start, and while wave 3's wait for payment.
KILL_AT_START, KILL_AWAITING = 2, 3
WAVE_SECONDS = 25.0  # at most, until a wave's payments are requested (so its mode applies)
FINAL_SECONDS = 90.0
QUIET_SECONDS = 30.0


def extras() -> list[Case]:
    return [
        Case(
            "x-out-of-order",
            "nopay",
            europe_trips(2, 3),
            action="hand_out_of_order",
            allowed={"Confirmed", "Failed"},
        ),
    ]


def drive(journey: Journey, cases: list[Case], until: set[str], seconds: float) -> None:
    """Poll every booking, act on it when its moment comes, until each reached `until` (or time's up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = False
        for case in cases:
            try:
                response = journey.get(case.booking_id)
            except httpx.TransportError:
                response = None  # devhost restarting
            if response is None or response.status_code != 200:
                waiting = True
                continue
            view = response.json()
            if not case.acted and case.action != "none":
                act(journey, case, view)
            if view["status"] not in until or (case.action != "none" and not case.acted):
                waiting = True
        if not waiting:
            return
        time.sleep(0.2)


def test_chaos_every_promise_holds_under_faults_and_crashes(
    journey: Journey, devhost: DevhostProcess
) -> None:
    sandbox = journey.sandbox_url
    journey.http.delete(f"{sandbox}/_sandbox/faults").raise_for_status()
    cases: list[Case] = []
    began = time.monotonic()
    try:
        for api, settings in FAULTS.items():
            journey.http.put(f"{sandbox}/_sandbox/faults/{api}", json=settings).raise_for_status()
        for n, mode in enumerate(MODES):
            print(f"wave {n} at {time.monotonic() - began:.1f}s")
            journey.http.put(f"{sandbox}/_sandbox/webhook-mode", json=mode).raise_for_status()
            # Every wave cancels +down bookings while they book, the one whose start devhost is killed too:
            # there the cancel can reach a booking before the dead worker's leased messages return.
            batch = wave(n, webhook_lost=mode["mode"] == "drop") + (extras() if n == 0 else [])
            for case in batch:
                case.start(journey)
                if case.action == "cancel_early":
                    act(journey, case, {})
            # An earlier wave's booking still waiting for its moment (slower than its wave's time, say
            # after a restart under load) is watched with this wave, or its moment (a 4 s payment wait)
            # would pass unseen.
            behind = [c for c in cases if c.action != "none" and not c.acted]
            cases += batch
            if n == KILL_AT_START:
                time.sleep(0.5)
                devhost.restart(kill=True, same_port=True)
            # Switch the mode only once this wave's payments exist (the mode applies when one resolves).
            drive(journey, batch + behind, {"AwaitingPayment", *FINAL_STATUSES}, WAVE_SECONDS)
            if n == KILL_AWAITING:
                # Deadlines, reconciliation, undo and refunds are due now: crash in the middle of them.
                time.sleep(1.0)
                devhost.restart(kill=True, same_port=True)
        drive(journey, cases, FINAL_STATUSES, FINAL_SECONDS)
        journey.http.put(f"{sandbox}/_sandbox/webhook-mode", json={"mode": "normal"}).raise_for_status()

        # Refunds, expense reports and late webhooks may follow the final status: wait until quiet.
        deadline = time.monotonic() + QUIET_SECONDS
        broken: dict[str, list[str]] = {}
        while True:
            broken = {}
            for case in cases:
                problems = broken_promises(journey, case)
                if problems:
                    broken[f"{case.label} {case.booking_id} {case.tags}"] = problems
            if not broken or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        journey.http.delete(f"{sandbox}/_sandbox/faults")
        journey.http.put(f"{sandbox}/_sandbox/webhook-mode", json={"mode": "normal"})

    missed = [c.label for c in cases if c.missed]
    print(f"chaos: {len(cases)} bookings, {time.monotonic() - began:.1f}s, actions missed: {missed}")
    summary = {c.label: (c.final or {}).get("status") for c in cases}
    if broken:
        timelines = {
            c.booking_id: journey.events(c.booking_id)
            for c in cases
            if any(c.booking_id in k for k in broken)
        }
        detail = "\n".join(f"{k}: {v}" for k, v in broken.items())
        pytest.fail(f"{detail}\nall: {summary}\ntimelines: {json.dumps(timelines, indent=1)}")
    assert len(cases) >= 30
    # The run exercised what it claims: confirmations, failures, cancels and expiries all happened.
    seen = {c.final["status"] for c in cases if c.final}
    assert {"Confirmed", "Failed", "Cancelled", "Expired"} <= seen, summary
