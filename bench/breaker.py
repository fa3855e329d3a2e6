"""Benchmark of the supplier circuit breakers against the real processes: what an airline outage costs a
booking, with the breaker (version 2.0) and, in the same run, without it (version 1.0).

    .venv/bin/python bench/breaker.py [--bookings 20] [--no-baseline] [--out bench/results/breaker.json]

A private Azurite, the sandbox and devhost serving this repository's app with its local settings
(local.settings.json: retry 1 s first interval, ×2, 5 attempts; circuit threshold 5 in 60 s, 10 s
cool-down). Phases, each `--bookings` bookings started at once and waited for to their end:

1. `up`: the airline up (version 2.0);
2. `down`: the outage starts as the bookings do: the sandbox answers every airline request 503 from
   then on, and the airline's circuit is closed when they start (their failures open it);
3. `down_known`: 20 more at once while the outage goes on (the circuit is open, or probing);
4. recovery: the fault cleared, one booking a second until one flies (seconds from clearing);
5. `down_without_breaker`: the airline down again on a devhost restarted at version 1.0 (the breaker
   off), on a fresh task hub.

Per booking, from its timeline (`GET /api/bookings/{id}/events`): ticket booked = the ticket call's
`completedAt`, travel booked = the booked flight's or train's `completedAt`; the outage's cost is the
median of (travel − ticket) when down minus the same median when up. Airline calls per booking come from
the sandbox's request log (`GET /_sandbox/requests?idempotencyKeyPrefix=<bookingId>`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import socket
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.results_file import stamp, write_results  # noqa: E402
from tests.support.azurite import azurite_process  # noqa: E402
from tests.support.devhost import DevhostProcess  # noqa: E402
from tests.support.sandbox import SandboxProcess, sandbox_process  # noqa: E402

FINAL = {"Confirmed", "Failed", "Cancelled", "Expired"}
VERSION = "AzureFunctionsJobHost__extensions__durableTask__defaultVersion"
TRIP = {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER", "hotel": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@contextlib.contextmanager
def devhost(connection: str, sandbox: SandboxProcess, version: str) -> Iterator[str]:
    port = free_port()
    settings = {
        **sandbox.app_settings(),
        "AzureWebJobsStorage": connection,
        "TASKHUB_NAME": "BRK" + uuid.uuid4().hex[:12],
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        VERSION: version,
    }
    host = DevhostProcess(REPO, storage=connection, env=settings, port=port)
    try:
        yield host.start()
    finally:
        host.close()


class Run:
    def __init__(self, api: str, sandbox: str, http: httpx.Client) -> None:
        self.api, self.sandbox, self.http = api, sandbox, http

    def book(self) -> str:
        email = f"ada+run{uuid.uuid4().hex[:10]}@example.com"
        body = {"traveller": {"name": "Ada Lovelace", "email": email}, "trips": [TRIP], "currency": "EUR"}
        response = self.http.post(f"{self.api}/api/bookings", json=body)
        response.raise_for_status()
        return str(response.json()["bookingId"])

    def wait_final(self, booking_id: str, seconds: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            booking = self.http.get(f"{self.api}/api/bookings/{booking_id}").json()
            if booking.get("status") in FINAL:
                return dict(booking)
            time.sleep(0.2)
        raise TimeoutError(f"{booking_id} not final after {seconds} s")

    def events(self, booking_id: str) -> list[dict[str, Any]]:
        return list(self.http.get(f"{self.api}/api/bookings/{booking_id}/events").json())

    def airline_calls(self, booking_id: str) -> int:
        response = self.http.get(
            f"{self.sandbox}/_sandbox/requests", params={"idempotencyKeyPrefix": booking_id}
        )
        return sum(1 for r in response.json() if r["api"] == "airline")

    def airline(self, errors: bool) -> None:
        self.http.delete(f"{self.sandbox}/_sandbox/faults").raise_for_status()
        if errors:
            fault = {"errorRate": 1.0, "seed": 1}
            self.http.put(f"{self.sandbox}/_sandbox/faults/airline", json=fault).raise_for_status()

    def suppliers(self) -> dict[str, Any]:
        return {s["supplier"]: s for s in self.http.get(f"{self.api}/api/suppliers").json()["suppliers"]}

    def wave(self, count: int) -> dict[str, Any]:
        """`count` bookings at once, each to its end: outcomes, travel, ticket→travel seconds, calls."""
        started = time.monotonic()
        with ThreadPoolExecutor(count) as pool:
            ids = list(pool.map(lambda _: self.book(), range(count)))
            finals = list(pool.map(self.wait_final, ids))
        wall = time.monotonic() - started
        load_after = os.getloadavg()[0]
        gaps, modes, ticket_calls = [], [], []
        for booking_id in ids:
            events = self.events(booking_id)
            ticket_calls += [
                (parse(e["completedAt"]) - parse(e["at"])).total_seconds()
                for e in events
                if e.get("step") == "book_ticket" and e["type"] == "supplier_call"
            ]
            booked = {
                e["step"]: parse(e["completedAt"])
                for e in events
                if e["type"] in ("supplier_call", "fallback") and e.get("outcome") == "booked"
            }
            travel = booked.get("book_flight") or booked.get("book_train")
            if "book_ticket" in booked and travel is not None:
                gaps.append((travel - booked["book_ticket"]).total_seconds())
            modes.append("flight" if "book_flight" in booked else "train" if "book_train" in booked else "-")
        calls = [self.airline_calls(booking_id) for booking_id in ids]
        return {
            "bookings": count,
            "statuses": dict(sorted(Counter(f["status"] for f in finals).items())),
            "travel": dict(sorted(Counter(modes).items())),
            "ticket_to_travel_s": {
                "median": round(statistics.median(gaps), 3) if gaps else None,
                "max": round(max(gaps), 3) if gaps else None,
                "min": round(min(gaps), 3) if gaps else None,
            },
            "airline_calls_per_booking": round(sum(calls) / count, 2),
            "airline_calls_max": max(calls),
            "wall_s": round(wall, 1),
            # How long one hop takes in this phase: the ticket call (scheduled to its result recorded), the
            # same step in every phase, so it shows the machine's pace (load changes between phases).
            "ticket_call_s_median": round(statistics.median(ticket_calls), 3) if ticket_calls else None,
            "load_average_1m_after": round(load_after, 2),
        }

    def recovery(self, cooldown: float) -> dict[str, Any]:
        """Clear the fault, then book one at a time until one flies: seconds from clearing to that."""
        self.airline(errors=False)
        cleared = time.monotonic()
        tried = 0
        while time.monotonic() - cleared < 3 * cooldown + 30:
            tried += 1
            started = time.monotonic() - cleared
            booking_id = self.book()
            self.wait_final(booking_id)
            events = self.events(booking_id)
            if any(e.get("step") == "book_flight" and e.get("outcome") == "booked" for e in events):
                return {
                    # When the first booking that flew was started, counted from the fault's end.
                    "seconds_until_a_booking_flew": round(started, 1),
                    "seconds_until_it_was_booked": round(time.monotonic() - cleared, 1),
                    "bookings_tried": tried,
                    "circuit_after": self.suppliers()["airline"]["circuit"],
                }
            time.sleep(1)
        return {"seconds_until_a_booking_flew": None, "bookings_tried": tried}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--no-baseline", action="store_true", help="skip the version 1.0 phase")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "breaker.json"))
    args = parser.parse_args()
    local = json.loads((REPO / "local.settings.json").read_text())["Values"]
    cooldown = float(local["CIRCUIT_COOLDOWN_SECONDS"])
    result: dict[str, Any] = {
        "benchmark": "breaker",
        **stamp(),
        "settings": {k: v for k, v in local.items() if k.startswith(("CIRCUIT_", "SUPPLIER_RETRY_"))},
    }
    with azurite_process() as azurite, sandbox_process() as sandbox, httpx.Client(timeout=60) as http:
        with devhost(azurite.connection_string, sandbox, "2.0") as api:
            run = Run(api, sandbox.url, http)
            run.airline(errors=False)
            result["up"] = run.wave(args.bookings)
            run.airline(errors=True)
            result["down"] = run.wave(args.bookings)
            result["suppliers_while_down"] = run.suppliers()["airline"]
            result["down_known"] = run.wave(args.bookings)
            result["recovery"] = {**run.recovery(cooldown), "cooldown_s": cooldown}
        if not args.no_baseline:
            with devhost(azurite.connection_string, sandbox, "1.0") as api:
                run = Run(api, sandbox.url, http)
                run.airline(errors=True)
                result["down_without_breaker"] = run.wave(args.bookings)
                run.airline(errors=False)
    def median(phase: str) -> float:
        return float(result[phase]["ticket_to_travel_s"]["median"])

    def by_train(phase: str) -> bool:
        wave = result[phase]
        every = {"Confirmed": args.bookings}, {"train": args.bookings}
        return bool((wave["statuses"], wave["travel"]) == every)

    result["outage_cost_s"] = {
        phase: round(median(phase) - median("up"), 3)
        for phase in ("down", "down_known", "down_without_breaker")
        if phase in result
    }
    recovered = result["recovery"]["seconds_until_a_booking_flew"]
    result["targets"] = {
        "all_down_bookings_confirmed_by_train": by_train("down") and by_train("down_known"),
        "outage_cost_at_most_3_s": result["outage_cost_s"]["down"] <= 3,
        "outage_cost_at_most_3_s_once_known": result["outage_cost_s"]["down_known"] <= 3,
        "airline_calls_per_booking_at_most_1": result["down"]["airline_calls_per_booking"] <= 1,
        "airline_shown_open_while_down": result["suppliers_while_down"]["circuit"] in ("open", "half_open"),
        "flies_again_within_one_cooldown": recovered is not None and recovered <= cooldown,
    }
    write_results(result, args.out)


if __name__ == "__main__":
    main()
