"""Records the replay corpus: one real run per booking path that matters, through devhost's harness (the
app's real orchestrators on the official SDK, the supplier world of tests/orchestrators/world.py), with
every orchestration of the run exported as `devhost history export` writes it.

    python -m tests.orchestrators.corpus.record [--out DIR] [--only PATH ...]

The corpus stands for bookings already running when a change is deployed: record it again only when a
change is meant to break old histories (after the old bookings are gone), never to make a failing
replay pass. `--only` adds a new path without touching the others. `test_replay_corpus.py` replays every
file against the orchestrators as they are now.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from booking.activity_io import Activity
from booking.circuit import CircuitPolicy
from devhost.history import EventType
from devhost.replay_gate import exported_from
from devhost.store.base import TaskHubStore
from devhost.store.memory import MemoryStore
from devhost.testing import DurableHarness
from devhost.versioning import Versioning
from tests.orchestrators.booking_run import (
    BOOKING_ID,
    CancelJoinsTheBatch,
    await_payment,
    cancel,
    cancel_meanwhile,
    pay,
    start,
)
from tests.orchestrators.world import Suppliers, make_app, payment_event

HERE = Path(__file__).parent
# A trip to Amsterdam by train: ticket, train, 3 nights (booking_run.AMSTERDAM_TOTAL is by air).
TRAIN_TOTAL = Decimal("249.00") + Decimal("99.00") + 3 * Decimal("145.00")
THREE_TRIPS = [
    {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
    {"conferenceId": "europython-prague-2027", "origin": "LHR", "hotel": False},
    {"conferenceId": "ndc-oslo-2027", "origin": "MAD"},
]


@dataclass(frozen=True)
class Path_:
    """One booking path: the booking's options, the suppliers' behaviour, what happens from outside, and
    the host's default version (what new orchestrations get; "" records as before versions were set)."""

    options: dict[str, Any] = field(default_factory=dict)
    suppliers: Callable[[Suppliers], None] = lambda suppliers: None
    meanwhile: Callable[[DurableHarness, Suppliers], None] = lambda harness, suppliers: None
    afterwards: Callable[[DurableHarness, Suppliers], None] = lambda harness, suppliers: None
    version: str = ""
    store: Callable[[], TaskHubStore] = MemoryStore


def paid(amount: Decimal | None = None) -> Callable[[DurableHarness, Suppliers], None]:
    def pay_when_asked(harness: DurableHarness, suppliers: Suppliers) -> None:
        total = amount if amount is not None else _total(await_payment(harness))
        pay(harness, suppliers, total)

    return pay_when_asked


def _total(view: dict[str, Any]) -> Decimal:
    return Decimal(view["total"]["amount"])


def declined(harness: DurableHarness, suppliers: Suppliers) -> None:
    await_payment(harness)
    suppliers.payment_status = "failed"
    harness.raise_event(BOOKING_ID, "PaymentFailed", payment_event(amount="0.00", reason="card_declined"))


def webhook_lost(harness: DurableHarness, suppliers: Suppliers) -> None:
    await_payment(harness)
    suppliers.payment_status = "succeeded"  # paid, but no event: found by reconciliation


def paid_twice(harness: DurableHarness, suppliers: Suppliers) -> None:
    total = _total(await_payment(harness))
    pay(harness, suppliers, total)
    pay(harness, suppliers, total)  # the same webhook delivered again


def stray_then_paid(harness: DurableHarness, suppliers: Suppliers) -> None:
    view = await_payment(harness)
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", payment_event("msg_x", "pay_other", "5.00"))
    pay(harness, suppliers, _total(view))


def paid_too_late(harness: DurableHarness, suppliers: Suppliers) -> None:
    """The traveller pays after the booking expired: the edge starts the late payment's refund."""
    suppliers.payment_status = "succeeded"
    event = payment_event("msg_late", amount="873.00") | {"bookingId": BOOKING_ID}
    harness.start_new("late_payment_refund", event, "refund-pay_1")
    harness.wait_for_completion("refund-pay_1")


def cancel_at_once(harness: DurableHarness, suppliers: Suppliers) -> None:
    cancel(harness)


def cancel_while_ticket_books(harness: DurableHarness, suppliers: Suppliers) -> None:
    suppliers.meanwhile[Activity.BOOK_TICKET] = cancel_meanwhile(harness)


def cancel_while_payment_requested(harness: DurableHarness, suppliers: Suppliers) -> None:
    suppliers.meanwhile[Activity.REQUEST_PAYMENT] = cancel_meanwhile(harness)


def cancel_in_backoff(harness: DurableHarness, suppliers: Suppliers) -> None:
    harness.run_until_idle()  # the flight failed and its retry waits on a timer
    cancel(harness)


def cancel_awaiting_payment(harness: DurableHarness, suppliers: Suppliers) -> None:
    await_payment(harness)
    cancel(harness)


def cancel_behind_the_trips_result(harness: DurableHarness, suppliers: Suppliers) -> None:
    """Arm the store: the cancel comes in the batch of the trip's result, right behind it."""
    store = harness.store
    assert isinstance(store, CancelJoinsTheBatch)
    store.cancel = cancel_meanwhile(harness)


def the_trips_result(event: dict[str, Any]) -> bool:
    return bool(event["EventType"] == EventType.SubOrchestrationInstanceCompleted)


def wait_out_the_payment(harness: DurableHarness, suppliers: Suppliers) -> None:
    await_payment(harness)


def cancel_while_waiting_for_the_hotel(harness: DurableHarness, suppliers: Suppliers) -> None:
    """Cancel once the hotel's circuit is open and the trip waits for its probe time."""
    harness.run_until(lambda: any(e["EventType"] == EventType.TimerCreated for e in trip_history(harness)))
    cancel(harness)


def trip_history(harness: DurableHarness) -> list[dict[str, Any]]:
    return harness.history(f"{BOOKING_ID}:trip:0") if harness.get_status(f"{BOOKING_ID}:trip:0") else []


def no_route(suppliers: Suppliers) -> None:
    suppliers.no_flight_from.add("BER")
    suppliers.no_train_from.add("BER")


def sold_out_and_undo_retried(suppliers: Suppliers) -> None:
    suppliers.sold_out_cities.add("Amsterdam")
    suppliers.undo_503s = 2


PATHS: dict[str, Path_] = {
    "happy-path": Path_(meanwhile=paid()),
    "three-trips": Path_({"trips": THREE_TRIPS}, meanwhile=paid()),
    "flaky-airline-retried": Path_(suppliers=lambda s: setattr(s, "flight_503s", 2), meanwhile=paid()),
    "rate-limited-retry-after": Path_(
        suppliers=lambda s: setattr(s, "flight_429_after", dt.timedelta(seconds=30)), meanwhile=paid()
    ),
    "airline-down-train-fallback": Path_(
        suppliers=lambda s: setattr(s, "airline_down", True), meanwhile=paid()
    ),
    "no-flight-train": Path_(suppliers=lambda s: s.no_flight_from.add("BER"), meanwhile=paid()),
    "no-travel-route-fails": Path_(suppliers=no_route),
    "hotel-sold-out-undone": Path_(suppliers=lambda s: s.sold_out_cities.add("Amsterdam")),
    "undo-retried-after-failures": Path_(suppliers=sold_out_and_undo_retried),
    "lost-answer-reclaimed": Path_(
        suppliers=lambda s: s.lost_answers.update({"flight": 5}), meanwhile=paid()
    ),
    "payment-declined": Path_(meanwhile=declined),
    "payment-expired": Path_({"timeout_seconds": 600}, meanwhile=wait_out_the_payment),
    "payment-too-late-refunded": Path_(
        {"timeout_seconds": 600}, meanwhile=wait_out_the_payment, afterwards=paid_too_late
    ),
    "payment-webhook-lost-reconciled": Path_({"timeout_seconds": 600}, meanwhile=webhook_lost),
    "payment-wrong-amount-refunded": Path_(meanwhile=paid(Decimal("1.00"))),
    "payment-duplicated": Path_(meanwhile=paid_twice),
    "payment-stray-refunded": Path_(meanwhile=stray_then_paid),
    "payment-provider-down-fails": Path_(suppliers=lambda s: setattr(s, "payment_down", True)),
    "cancel-before-first-step": Path_(meanwhile=cancel_at_once),
    "cancel-between-steps": Path_(meanwhile=cancel_while_ticket_books),
    "cancel-during-retry-backoff": Path_(
        suppliers=lambda s: setattr(s, "flight_503s", 3), meanwhile=cancel_in_backoff
    ),
    "cancel-during-payment-wait": Path_(meanwhile=cancel_awaiting_payment),
    # Version 2.0: trips ask the supplier circuit breaker (the `supplier_circuit` entity) first.
    "breaker-happy-path": Path_(meanwhile=paid(), version="2.0"),
    "breaker-airline-opens-train": Path_(
        {"circuit": CircuitPolicy(failure_threshold=3)},
        suppliers=lambda s: setattr(s, "airline_down", True),
        meanwhile=paid(TRAIN_TOTAL),
        version="2.0",
    ),
    "breaker-hotel-waits-for-probe": Path_(
        {"circuit": CircuitPolicy(failure_threshold=2)},
        suppliers=lambda s: s.outage.update({"hotel": 2}),
        meanwhile=paid(),
        version="2.0",
    ),
    "breaker-cancel-while-waiting": Path_(
        {"circuit": CircuitPolicy(failure_threshold=2)},
        suppliers=lambda s: s.down.add("hotel"),
        meanwhile=cancel_while_waiting_for_the_hotel,
        version="2.0",
    ),
    # Version 3.0: no due-now timer after the trips; a cancel behind the last trip's result, in its batch,
    # is read from the history (orchestrators/batch.py); a cancel that came while the payment request was
    # at the provider ends the booking (orchestrators/payment.py).
    "v3-happy-path": Path_(meanwhile=paid(), version="3.0"),
    "v3-cancel-between-steps": Path_(meanwhile=cancel_while_ticket_books, version="3.0"),
    "v3-cancel-behind-the-trips-result": Path_(
        meanwhile=cancel_behind_the_trips_result,
        version="3.0",
        store=lambda: CancelJoinsTheBatch(the_trips_result),
    ),
    "v3-cancel-during-payment-wait": Path_(meanwhile=cancel_awaiting_payment, version="3.0"),
    "v3-cancel-while-payment-requested": Path_(meanwhile=cancel_while_payment_requested, version="3.0"),
}


def record(name: str, out: Path) -> list[Path]:
    """Run one path to its end; write every orchestration of it as `<path>--<role>.json`."""
    path = PATHS[name]
    suppliers = Suppliers()
    path.suppliers(suppliers)
    written = []
    versioning = Versioning(default_version=path.version)
    with DurableHarness(make_app(), store=path.store(), versioning=versioning) as harness:
        suppliers.install(harness)
        start(harness, **path.options)
        path.meanwhile(harness, suppliers)
        harness.wait_for_completion(BOOKING_ID)
        path.afterwards(harness, suppliers)
        harness.run_until_idle()
        for instance in harness.instances():
            if instance.instance_id.startswith("@"):
                continue  # an entity (a supplier's circuit): its state, not a path to replay
            history = harness.history(instance.instance_id)
            exported = exported_from(instance.instance_id, instance.name, instance.version, history)
            role = instance.instance_id.removeprefix(BOOKING_ID).strip(":").replace(":", "-") or "booking"
            if not instance.instance_id.startswith(BOOKING_ID):
                role = instance.instance_id  # the late payment's refund runs under its own id
            target = out / f"{name}--{role}.json"
            target.write_text(exported.to_json(), encoding="utf-8")
            written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "histories")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(PATHS), help="record these paths, keeping the others as they are"
    )
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # the failures the paths provoke on purpose are not news here
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.only:  # a full recording replaces the corpus (every file changes: new ids, new times)
        for old in args.out.glob("*.json"):
            old.unlink()
    for name in args.only or PATHS:
        for path in record(name, args.out):
            print(path.relative_to(args.out.parent) if path.is_relative_to(args.out.parent) else path)


if __name__ == "__main__":
    main()
