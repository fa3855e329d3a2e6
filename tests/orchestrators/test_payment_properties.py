"""The payment wait over arbitrary sequences of events (hypothesis, through the harness, time skipped).

Events arrive in any order and number: the real payment's success, strays (successes naming payments
the provider never made, or made and took money for), redeliveries of any earlier event, the real
failure, stale failures, a cancel, a lost webhook, time passing up to and past the deadline; some
back to back (reaching the SDK while the booking is busy), some with the booking idle in between.
Whatever came before:
- a real success delivered before the deadline is accepted within one `RECHECK_EVERY` step;
- no money is kept without `Confirmed` (the booking's payment, and every stray, is refunded);
- nothing is applied twice (one expense report if confirmed, each refund under its payment's key).

`PAYMENT_WAIT_EXAMPLES=1000` for the full run; the suite's default keeps `make test` quick.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from booking import BookingStatus, BookingView, PaymentStatus
from devhost.history import RuntimeStatus
from devhost.testing import DurableHarness
from orchestrators.payment import RECHECK_EVERY
from tests.orchestrators.booking_run import AMSTERDAM_TOTAL
from tests.orchestrators.world import Suppliers, booking_input, make_app, payment_event

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "hypothesis-conference-trips")

WINDOW = dt.timedelta(seconds=120)
FINAL = {"Confirmed", "Failed", "Cancelled", "Expired"}
# One recheck step; the virtual clock moves a microsecond per reading, so a round that starts just
# after the webhook (the booking busy refunding a stray) is allowed those microseconds.
ONE_STEP = RECHECK_EVERY + dt.timedelta(milliseconds=1)
EXAMPLES = int(os.environ.get("PAYMENT_WAIT_EXAMPLES", "60"))

steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["real", "stray", "paid_stray", "duplicate", "failed", "stale", "cancel", "lost", "wait"]
        ),
        st.integers(min_value=0, max_value=200),  # which earlier event to repeat / seconds to wait
        st.booleans(),  # let the booking run before the next step (else the next arrives back to back)
    ),
    max_size=12,
)


@pytest.fixture(scope="module")
def shared():
    """One app and one harness for every example (each example is its own booking): indexing the app
    and starting a harness per example would dominate the run."""
    with DurableHarness(make_app()) as h:
        yield h


class Run:
    """One booking driven to its payment wait, and what the test did to it."""

    count = 0

    def __init__(self, h: DurableHarness) -> None:
        Run.count += 1
        self.h = h
        self.suppliers = Suppliers()
        self.suppliers.install(self.h)
        self.booking_id = f"prop-{Run.count}"
        self.raised: list[tuple[str, dict[str, str]]] = []
        self.cancel_raised = False
        self.h.start_new(
            "booking", booking_input(booking_id=self.booking_id, timeout_seconds=120), self.booking_id
        )
        self.h.run_until(lambda: self.status() == "AwaitingPayment")
        self.deadline = self.h.now + WINDOW

    def status(self) -> str | None:
        st_ = self.h.get_status(self.booking_id)
        return (st_.custom_status or {}).get("status") if st_ else None

    def final(self) -> bool:
        return self.status() in FINAL

    def raise_payment(self, name: str, event: dict[str, str]) -> None:
        event = event | {"bookingId": self.booking_id}
        self.raised.append((name, event))
        self.h.raise_event(self.booking_id, name, event)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps)
def test_the_payment_wait_holds_whatever_arrives(shared, sequence):
    run = Run(shared)
    provider = run.suppliers
    paid = f"{AMSTERDAM_TOTAL:.2f}"
    for n, (kind, number, settle) in enumerate(sequence):
        if run.final():
            break  # the edge routes anything later to late_payment_refund, not into the booking
        if kind == "real" and provider.payment_status == "pending":
            provider.payment_status = "succeeded"
            webhook_at, before_deadline = run.h.now, run.h.now < run.deadline
            run.raise_payment("PaymentSucceeded", payment_event(f"msg_real_{n}", amount=paid))
            if before_deadline and not run.cancel_raised:
                # Accepted within one step of its webhook, whatever came before.
                run.h.run_until(lambda: run.final(), max_time=ONE_STEP)
                assert run.status() == "Confirmed", (sequence, run.status())
                assert run.h.now - webhook_at <= ONE_STEP
        elif kind in ("stray", "paid_stray"):
            stray_id = f"pay_stray_{n}"
            if kind == "paid_stray":
                provider.stray_payments[stray_id] = "succeeded"
            run.raise_payment("PaymentSucceeded", payment_event(f"msg_{stray_id}", stray_id, amount="5.00"))
        elif kind == "duplicate" and run.raised:
            run.raise_payment(*run.raised[number % len(run.raised)])
        elif kind == "failed" and provider.payment_status == "pending":
            provider.payment_status = "failed"
            run.raise_payment(
                "PaymentFailed", payment_event(f"msg_failed_{n}", amount="0.00", reason="declined")
            )
        elif kind == "stale":  # an earlier card attempt's failure, whatever the payment's status now
            run.raise_payment(
                "PaymentFailed", payment_event(f"msg_stale_{n}", amount="0.00", reason="attempt")
            )
        elif kind == "cancel":
            run.cancel_raised = True
            run.h.raise_event(run.booking_id, "CancelRequested", {"reason": "changed my mind"})
        elif kind == "lost" and provider.payment_status == "pending":
            provider.payment_status = "succeeded"  # paid, and every webhook of it lost
        elif kind == "wait":
            run.h.advance(dt.timedelta(seconds=number))
        if settle:
            run.h.run_until_idle()

    status = run.h.wait_for_completion(run.booking_id)
    assert status.runtime_status is RuntimeStatus.Completed, status.output
    view = status.output_as(BookingView)
    confirmed = view.status is BookingStatus.CONFIRMED
    # Money never kept without Confirmed; a confirmed booking keeps exactly its own payment.
    assert (provider.payment_status == "succeeded") == confirmed, (
        sequence,
        view.status,
        provider.payment_status,
    )
    assert all(s == "refunded" for s in provider.stray_payments.values()), provider.stray_payments
    if confirmed:
        assert view.payment.status is PaymentStatus.SUCCEEDED
    # A paid booking that nobody cancelled is confirmed (by event, by asking, or by reconciliation).
    if provider.payment_status in ("succeeded", "refunded") and not run.cancel_raised:
        assert confirmed, (sequence, view)
    # Nothing applied twice: one expense report when confirmed, refunds only under the payment's key.
    assert len(provider.expenses) == (1 if confirmed else 0)
    assert all(r["idempotencyKey"] == f"refund:{r['paymentId']}" for r in provider.refunds)
    # Confirmed keeps the ticket, flight and hotel; anything else undoes them.
    assert len(provider.active()) == (3 if confirmed else 0)
