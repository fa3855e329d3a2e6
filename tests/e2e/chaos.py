"""The chaos run's vocabulary: the bookings it makes, what it does to each while it runs, and the
product's promises checked per booking through the public API and the sandbox's inspection endpoints.

A check returns the list of promises a booking breaks right now (empty: all kept); the test repeats it
until every booking is quiet, because some work legitimately follows the final status (a refund, the
expense report, a late webhook).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from tests.e2e.journey import FINAL_STATUSES, Journey, trip, unique_email

# Per API: 503s drawn from a fixed seed, every-Nth 429 with Retry-After, a little latency.
FAULTS: dict[str, dict[str, Any]] = {
    "conference": {"errorRate": 0.15, "seed": 1101},
    "airline": {"errorRate": 0.2, "seed": 1102, "rateLimitEvery": 7, "retryAfterSeconds": 1},
    "rail": {"errorRate": 0.15, "seed": 1103, "latencyMs": 20},
    "hotel": {"errorRate": 0.25, "seed": 1104, "latencyMs": 30},
    "payment": {"errorRate": 0.15, "seed": 1105, "rateLimitEvery": 9, "retryAfterSeconds": 1},
    "expense": {"errorRate": 0.2, "seed": 1106},
}

# Trips that every supplier can serve by air, and (for +noflight) by rail too.
EUROPE = [
    ("serverlessdays-amsterdam-2027", "BER"),
    ("europython-prague-2027", "LHR"),
    ("kubecon-barcelona-2027", "CDG"),
    ("ndc-oslo-2027", "MAD"),
    ("devoxx-brussels-2027", "MUC"),
    ("serverlessdays-hamburg-2027", "WAW"),
]


@dataclass
class Case:
    """One booking of the run: its tags, trips, and what the test does to it while it runs."""

    label: str
    tags: str
    trips: list[dict[str, Any]]
    # none | cancel_early | cancel_booking | cancel_awaiting | late_success | hand_duplicate |
    # hand_out_of_order | forged
    action: str = "none"
    # Final statuses the scenario allows (faults may always turn a booking into Failed supplier_unavailable).
    allowed: set[str] = field(default_factory=lambda: set(FINAL_STATUSES))
    email: str = ""
    booking_id: str = ""
    acted: bool = False
    missed: bool = False
    final: dict[str, Any] | None = None

    def start(self, journey: Journey) -> None:
        self.email = unique_email(self.tags)
        self.booking_id = journey.book_ok(self.email, self.trips)


def europe_trips(count: int, offset: int, hotel_every: int = 1) -> list[dict[str, Any]]:
    picked = [EUROPE[(offset + i) % len(EUROPE)] for i in range(count)]
    return [trip(c, o, hotel=(i % hotel_every == 0)) for i, (c, o) in enumerate(picked)]


def wave(n: int, webhook_lost: bool = False) -> list[Case]:
    """The same mix in every wave (the webhook mode differs): 12 bookings, 20 trips.

    When the wave's webhooks are dropped, a paying booking rests on the deadline's check with the
    provider, which the seeded payment faults can fail on every retry: it then expires and is undone
    (nothing charged, which `broken_promises` checks) — a safe end, so it is allowed there."""
    ok = {"Confirmed", "Failed"} | ({"Expired"} if webhook_lost else set())
    not_confirmed = {"Cancelled", "Failed"}
    return [
        Case(f"w{n}-plain", "", europe_trips(1, n), allowed=ok),
        Case(f"w{n}-multi", "", europe_trips(3, n + 1, hotel_every=2), allowed=ok),
        Case(f"w{n}-flaky", "flaky", europe_trips(2, n + 2), allowed=ok),
        Case(f"w{n}-noflight", "noflight", europe_trips(1, n + 3), allowed=ok),
        # One trip with a hotel (sold out), one without (books, then is undone: all or nothing).
        Case(f"w{n}-nohotel", "nohotel", europe_trips(2, n + 4, hotel_every=2), allowed={"Failed"}),
        Case(f"w{n}-decline", "decline", europe_trips(1, n + 5), allowed={"Failed"}),
        Case(f"w{n}-noroute", "noflight+notrain", [trip("pycon-longbeach-2027", "BER")], allowed={"Failed"}),
        Case(
            f"w{n}-cancel",
            "nopay",
            europe_trips(2, n),
            action="cancel_awaiting",
            allowed={"Cancelled", "Failed"},
        ),
        # A paying traveller cancels: right away (buffered until the payment step), or while the
        # payment is on its way (a race the cancel may lose: then Confirmed, and nothing to refund).
        Case(
            f"w{n}-paycancel-early", "", europe_trips(1, n + 2), action="cancel_early", allowed=not_confirmed
        ),
        Case(
            f"w{n}-paycancel",
            "",
            europe_trips(1, n + 3),
            action="cancel_awaiting",
            allowed=set(FINAL_STATUSES),
        ),
        # The airline is down: the trips are in their flight retries when the traveller cancels.
        Case(
            f"w{n}-downcancel", "down", europe_trips(2, n + 4), action="cancel_booking", allowed={"Cancelled"}
        ),
        Case(
            f"w{n}-hand",
            "nopay",
            europe_trips(1, n + 1),
            action=HAND_ACTIONS[n % len(HAND_ACTIONS)],
            allowed=HAND_ALLOWED[HAND_ACTIONS[n % len(HAND_ACTIONS)]],
        ),
    ]


HAND_ACTIONS = ["hand_duplicate", "late_success", "forged", "cancel_early"]
HAND_ALLOWED = {
    "hand_duplicate": {"Confirmed", "Failed"},
    "hand_out_of_order": {"Confirmed", "Failed"},
    "late_success": {"Expired", "Failed"},
    "forged": {"Failed"},
    "cancel_early": {"Cancelled", "Failed"},
}


# ---- what the test does to a running booking ------------------------------------------------
def act(journey: Journey, case: Case, view: dict[str, Any]) -> None:
    """Perform the case's action once its booking is where the action belongs."""
    status = view.get("status")
    payment_id = (view.get("payment") or {}).get("paymentId")
    if case.action == "cancel_early":
        # Right after the start: the trips are still being booked (the cancel waits for the payment step).
        response = journey.cancel(case.booking_id)
        assert response.status_code in (202, 409), response.text
    elif case.action == "cancel_booking" and status == "Booking":
        response = journey.cancel(case.booking_id)
        assert response.status_code == 202, response.text
    elif case.action == "cancel_awaiting" and status == "AwaitingPayment":
        response = journey.cancel(case.booking_id)
        assert response.status_code in (202, 409), response.text
    elif case.action == "late_success" and status == "Expired" and payment_id:
        manual_webhook(journey, payment_id, {"type": "payment.succeeded"})
    elif case.action == "hand_duplicate" and status == "AwaitingPayment" and payment_id:
        manual_webhook(journey, payment_id, {"type": "payment.succeeded", "copies": 3})
    elif case.action == "hand_out_of_order" and status == "AwaitingPayment" and payment_id:
        manual_webhook(journey, payment_id, {"type": "payment.succeeded"})
        manual_webhook(
            journey,
            payment_id,
            {"type": "payment.failed", "reason": "attempt_declined", "applyStatus": False},
        )
    elif case.action == "forged" and status == "AwaitingPayment" and payment_id:
        forged = str(Decimal(view["total"]["amount"]) + Decimal("1.00"))
        manual_webhook(journey, payment_id, {"type": "payment.succeeded", "amount": forged})
    elif status in FINAL_STATUSES:
        case.missed = True  # the booking ended before its moment came (e.g. paid before the cancel)
    else:
        return
    case.acted = True


def manual_webhook(journey: Journey, payment_id: str, body: dict[str, Any]) -> None:
    url = f"{journey.sandbox_url}/_sandbox/payments/{payment_id}/webhooks"
    response = journey.http.post(url, json=body)
    assert response.status_code == 202, response.text


# ---- the promises ------------------------------------------------------------------------------
def sandbox_list(http: httpx.Client, url: str, **params: str) -> list[dict[str, Any]]:
    response = http.get(url, params=params)
    response.raise_for_status()
    return list(response.json())


def broken_promises(journey: Journey, case: Case) -> list[str]:
    """Every promise this (final) booking breaks, as readable sentences; [] when all hold."""
    response = journey.get(case.booking_id)
    if response.status_code != 200:
        return [f"GET answered {response.status_code}"]
    view = response.json()
    case.final = view
    status = view["status"]
    problems: list[str] = []
    if status not in FINAL_STATUSES:
        return [f"not final: {status}"]
    if status not in case.allowed:
        problems.append(f"status {status} ({view.get('failure')}) not in {sorted(case.allowed)}")

    supplier = journey.supplier_bookings(case.email)
    keys = Counter(b["idempotencyKey"] for b in supplier)
    twice = [k for k, n in keys.items() if n > 1]
    if twice:
        problems.append(f"made twice at a supplier: {twice}")
    active = [b for b in supplier if b["status"] == "active"]
    payments = journey.payments(case.booking_id)
    taken = [p for p in payments if p["status"] == "succeeded"]
    expenses = sandbox_list(
        journey.http, f"{journey.sandbox_url}/_sandbox/expenses", bookingId=case.booking_id
    )
    active_expenses = [e for e in expenses if e["status"] == "active"]
    for p in payments:
        hooks = sandbox_list(
            journey.http, f"{journey.sandbox_url}/_sandbox/webhooks", paymentId=p["paymentId"]
        )
        if any(h["status"] == "scheduled" for h in hooks):
            problems.append(f"webhook delivery still scheduled for {p['paymentId']}")
    if len(active_expenses) > 1:
        problems.append(f"expenses filed more than once: {active_expenses}")
    problems += payment_after_cancel(journey.events(case.booking_id))

    if status != "Confirmed":
        if active:
            problems.append(
                f"left behind at suppliers: {[(b['supplier'], b['idempotencyKey']) for b in active]}"
            )
        if taken:
            problems.append(f"money taken and kept: {taken}")
        payable = [p["paymentId"] for p in payments if p["status"] == "pending"]
        if payable:
            problems.append(f"payment left payable for an ended booking: {payable}")
        if active_expenses:
            problems.append(f"expenses filed for an unconfirmed booking: {active_expenses}")
        return problems

    problems += confirmed_problems(case, view, active)
    total = view.get("total") or {}
    if len(taken) != 1:
        problems.append(f"{len(taken)} succeeded payments (want exactly 1): {payments}")
    else:
        (paid,) = taken
        if Decimal(paid["amount"]) != Decimal(total.get("amount", "-1")) or paid["currency"] != total.get(
            "currency"
        ):
            problems.append(f"paid {paid['amount']} {paid['currency']}, total {total}")
        if paid["paymentId"] != (view.get("payment") or {}).get("paymentId"):
            problems.append(f"paid {paid['paymentId']}, booking shows {view.get('payment')}")
    if (view.get("payment") or {}).get("status") != "Succeeded":
        problems.append(f"confirmed with payment {view.get('payment')}")
    for e in active_expenses:
        if Decimal(e["total"]["amount"]) != Decimal(total.get("amount", "-1")):
            problems.append(f"expense total {e['total']} != booking total {total}")
    return problems


def payment_after_cancel(timeline: list[dict[str, Any]]) -> list[str]:
    """A payment the booking asked for after the traveller's cancel reached it (timeline times are the
    history's: the cancel when it was raised, the request when the booking decided on it)."""
    own = [e for e in timeline if e["scope"] == "booking"]
    cancels = [e["at"] for e in own if e["type"] == "event" and e.get("name") == "CancelRequested"]
    if not cancels:
        return []
    asked = [
        e["at"]
        for e in own
        if e["type"] == "payment" and e.get("step") == "request_payment" and e["at"] > min(cancels)
    ]
    return [f"payment requested at {asked} after the cancel accepted at {min(cancels)}"] if asked else []


def confirmed_problems(case: Case, view: dict[str, Any], active: list[dict[str, Any]]) -> list[str]:
    """One active ticket, one travel and (if asked) one hotel per trip, the ones the booking shows."""
    problems: list[str] = []
    if len(view["trips"]) != len(case.trips):
        return [f"{len(view['trips'])} trips shown, {len(case.trips)} asked"]
    by_trip: dict[int, list[dict[str, Any]]] = {}
    for b in active:
        index = trip_index(b["idempotencyKey"], case.booking_id)
        if index is None:
            problems.append(f"active supplier booking not of this booking's trips: {b}")
            continue
        by_trip.setdefault(index, []).append(b)
    for index, (asked, shown) in enumerate(zip(case.trips, view["trips"], strict=True)):
        got = Counter(
            "travel" if b["supplier"] in ("airline", "rail") else b["supplier"]
            for b in by_trip.get(index, [])
        )
        want = Counter({"conference": 1, "travel": 1, "hotel": 1 if asked["hotel"] else 0})
        if +got != +want:
            problems.append(f"trip {index}: active at suppliers {dict(got)}, want {dict(+want)}")
        if shown.get("status") != "Booked":
            problems.append(f"trip {index} shown {shown.get('status')}")
        refs = {b["reference"] for b in by_trip.get(index, [])}
        for part in ("ticket", "travel", "hotel"):
            ref = (shown.get(part) or {}).get("reference")
            if ref and ref not in refs:
                problems.append(f"trip {index}: {part} {ref} shown but not active at its supplier")
    return problems


def trip_index(key: str, booking_id: str) -> int | None:
    """`<bookingId>:trip:<n>:<step>` → n (the app's supplier idempotency keys)."""
    prefix = f"{booking_id}:trip:"
    if not key.startswith(prefix):
        return None
    number = key[len(prefix) :].split(":", 1)[0]
    return int(number) if number.isdigit() else None
