"""The booking's payment wait (orchestrators/payment.py) through the harness: every way a payment goes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from booking import RetryPolicy
from booking.activity_io import Activity
from devhost.history import RuntimeStatus
from devhost.testing import DurableHarness
from devhost.versioning import Versioning
from orchestrators.payment import RECHECK_EVERY
from tests.orchestrators.booking_run import (
    AMSTERDAM_TOTAL,
    BOOKING_ID,
    KEPT_PATH,
    await_payment,
    cancel_meanwhile,
    finish,
    pay,
    start,
    status_of,
)
from tests.orchestrators.world import Suppliers, make_app, payment_event


def test_payment_timer_is_cancelled_when_the_payment_wins(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    pay(harness, suppliers)
    harness.run_until_idle()

    # Completed right away, not Running until the 15-minute timer fires.
    assert status_of(harness).runtime_status is RuntimeStatus.Completed
    assert harness.now < dt.datetime(2024, 1, 1, 0, 15, tzinfo=dt.UTC)


def test_declined_payment_fails_and_undoes_everything(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    suppliers.payment_status = "failed"
    harness.raise_event(BOOKING_ID, "PaymentFailed", payment_event(amount="0.00", reason="card_declined"))

    view = finish(harness)
    assert view.status == "Failed" and view.failure.code == "payment_failed"
    assert "card_declined" in view.failure.message
    assert view.payment.status == "Failed"
    assert suppliers.active() == [] and suppliers.refunds == []
    assert [t.status for t in view.trips] == ["Undone"]


def test_payment_timeout_expires_after_reconciling_once(world):
    harness, suppliers = world
    start(harness, timeout_seconds=600)
    await_payment(harness)

    view = finish(harness)
    assert view.status == "Expired" and view.failure.code == "payment_timeout"
    assert harness.now >= dt.datetime(2024, 1, 1, 0, 10, tzinfo=dt.UTC)
    assert suppliers.active() == [] and suppliers.refunds == []
    # once at the deadline (reconciliation), once more just before ending (settlement, every payment
    # the provider holds for the booking) — and not every few seconds: no event ever repeated
    assert suppliers.calls["check_payment"] == 1 and suppliers.calls["list_payments"] == 1
    assert suppliers.calls["cancel_payment"] == 1
    # Nobody may pay for it any more: the payment is cancelled at the provider, and the view says so.
    assert suppliers.payment_status == "cancelled" and view.payment.status == "Cancelled"


def test_reconciliation_finds_a_payment_whose_webhook_was_lost(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    suppliers.payment_status = "succeeded"  # paid, but no webhook ever arrives

    deadline = dt.datetime(2024, 1, 1, 0, 15, tzinfo=dt.UTC)
    assert confirmed_at(harness) - deadline <= dt.timedelta(seconds=10)  # the contract's bound
    view = finish(harness)
    assert view.status == "Confirmed" and view.payment.status == "Succeeded"
    assert len(suppliers.expenses) == 1 and suppliers.refunds == []


def test_cancel_while_awaiting_payment_undoes_everything_and_stops_the_timer(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    harness.raise_event(BOOKING_ID, "CancelRequested", {"reason": "changed my mind"})
    harness.run_until_idle()

    assert status_of(harness).runtime_status is RuntimeStatus.Completed  # no 15-minute timer holding it open
    view = finish(harness)
    assert view.status == "Cancelled" and view.failure.code == "cancelled_by_traveller"
    assert suppliers.active() == []
    assert suppliers.payment_status == "cancelled" and view.payment.status == "Cancelled"


def test_a_cancel_while_booking_shows_cancelling_and_never_asks_for_payment(world):
    harness, suppliers = world
    suppliers.flight_503s = 2  # the booking is still busy with retries when the cancel arrives
    start(harness)
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "Booking"
    harness.raise_event(BOOKING_ID, "CancelRequested", {})
    harness.run_until_idle()
    # The flight's retries are still waiting out their backoff: the cancel shows at once.
    assert status_of(harness).custom_status["status"] == "Cancelling"

    view = finish(harness)
    assert view.status == "Cancelled" and view.failure.code == "cancelled_by_traveller"
    assert suppliers.active() == []
    assert suppliers.calls[Activity.REQUEST_PAYMENT] == 0 and view.payment.status == "NotStarted"


def test_a_cancel_before_the_first_step_never_asks_for_payment(world):
    harness, suppliers = world
    start(harness)
    harness.raise_event(BOOKING_ID, "CancelRequested", {"reason": "wrong dates"})

    view = finish(harness)
    assert view.status == "Cancelled" and suppliers.active() == []
    assert suppliers.calls[Activity.REQUEST_PAYMENT] == 0


def test_wrong_amount_counts_as_failed_and_is_refunded(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    pay(harness, suppliers, amount=Decimal("1.00"))

    view = finish(harness)
    assert view.status == "Failed" and view.failure.code == "payment_amount_mismatch"
    assert view.payment.status == "Refunded"
    (refund,) = suppliers.refunds
    assert refund["paymentId"] == "pay_1" and refund["idempotencyKey"] == "refund:pay_1"
    assert suppliers.active() == [] and suppliers.expenses == []


def test_money_arriving_while_the_booking_gives_up_is_refunded(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    # The traveller cancels, but the provider had already taken the money (its webhook lost in the race).
    suppliers.payment_status = "succeeded"
    harness.raise_event(BOOKING_ID, "CancelRequested", {})

    view = finish(harness)
    assert view.status == "Cancelled" and view.payment.status == "Refunded"
    assert [r["idempotencyKey"] for r in suppliers.refunds] == ["refund:pay_1"]
    # Undo first, then the last look at the provider: the booking shows Cancelled from that look on,
    # so a payment landing even later goes to the edge's late-payment refund instead of this instance.
    last_undo = max(i for i, name in enumerate(suppliers.sequence) if name.startswith("undo_"))
    assert suppliers.sequence[last_undo + 1 :] == ["list_payments", "refund_payment"]


def test_provider_down_past_max_attempts_still_gets_the_money_back(world):
    # The last check and the refund must finish: giving up after max_attempts kept the money.
    harness, suppliers = world
    start(harness, retry=RetryPolicy(first_interval_ms=100, max_interval_ms=400, max_attempts=3))
    await_payment(harness)
    suppliers.payment_status = "succeeded"
    harness.raise_event(BOOKING_ID, "CancelRequested", {})
    failures = {"list_payments": 0, "refund_payment": 0}
    real = {"list_payments": suppliers.list_payments, "refund_payment": suppliers.refund_payment}

    def down_for_a_while(name):
        def call(order):
            if failures[name] < 7:
                failures[name] += 1
                raise RuntimeError("503 unavailable")
            return real[name](order)

        return call

    for name in failures:
        harness.replace_activity(name, down_for_a_while(name))
    view = finish(harness)

    assert view.status == "Cancelled" and view.payment.status == "Refunded"
    assert suppliers.payment_status == "refunded"
    assert failures == {"list_payments": 7, "refund_payment": 7}


def test_stale_failure_is_checked_with_the_provider_and_does_not_fail_a_paid_booking(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    suppliers.payment_status = "succeeded"  # the stale failure arrives after the success it preceded
    harness.raise_event(
        BOOKING_ID, "PaymentFailed", payment_event("msg_old", amount="0.00", reason="attempt_declined")
    )

    view = finish(harness)
    assert view.status == "Confirmed"


def stale_failure(harness, times=1):
    """An earlier card attempt's failure (the same webhook each time), while the payment is pending."""
    for _ in range(times):
        harness.raise_event(
            BOOKING_ID, "PaymentFailed", payment_event("msg_old", amount="0.00", reason="attempt_declined")
        )


def test_duplicate_payment_events_are_not_counted_twice(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    # A stale failure while the payment is still pending keeps the booking waiting ...
    stale_failure(harness)
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "AwaitingPayment"
    # ... and its redelivery does not count again (it would otherwise be a second "failure").
    stale_failure(harness)
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "AwaitingPayment"
    assert suppliers.calls["check_payment"] == 1

    suppliers.payment_status = "succeeded"
    view = finish(harness)  # decided by asking the provider, a few seconds later
    assert view.status == "Confirmed"
    assert len(suppliers.expenses) == 1


def test_duplicate_success_delivered_early_confirms_once(world):
    harness, suppliers = world
    suppliers.flight_503s = 1
    start(harness)
    harness.run_until_idle()  # still booking: both deliveries arrive before anyone waits for them
    pay(harness, suppliers)
    pay(harness, suppliers)

    view = finish(harness)
    assert view.status == "Confirmed"
    assert len(suppliers.expenses) == 1 and suppliers.refunds == []


def test_a_payment_for_another_id_is_refunded_and_the_booking_keeps_waiting(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    harness.raise_event(
        BOOKING_ID, "PaymentSucceeded", payment_event("msg_x", payment_id="pay_other", amount="5.00")
    )
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "AwaitingPayment"
    assert [r["paymentId"] for r in suppliers.refunds] == ["pay_other"]

    pay(harness, suppliers, webhook_id="msg_2")
    assert finish(harness).status == "Confirmed"


def test_payment_events_raised_through_the_http_api_parse_too(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    suppliers.payment_status = "succeeded"
    event = payment_event(amount=f"{AMSTERDAM_TOTAL:.2f}")
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", event, via="http")
    assert finish(harness).status == "Confirmed"


def test_payment_provider_down_fails_the_booking_and_undoes_it(world):
    harness, suppliers = world

    def down(order):
        raise RuntimeError("503 unavailable")

    harness.replace_activity("request_payment", down)
    start(harness, retry=RetryPolicy(first_interval_ms=100, max_interval_ms=200, max_attempts=2))
    view = finish(harness)
    assert view.status == "Failed" and view.failure.code == "supplier_unavailable"
    assert suppliers.active() == []


def stray(webhook_id, payment_id):
    return payment_event(webhook_id, payment_id=payment_id, amount="5.00")


def confirmed_at(harness):
    harness.run_until(lambda: (status_of(harness).custom_status or {}).get("status") == "Confirmed")
    return harness.now


def test_stray_stray_then_the_real_payment_is_confirmed_within_seconds_of_its_webhook(world):
    # The campaign's sequence: two validly signed successes naming payments the provider never made,
    # then the real one. The second stray reaches the SDK while no wait is open, so its slot answers
    # every later wait with it; the booking must not wait out the window because of that.
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", stray("msg_s1", "pay_stray1"))
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", stray("msg_s2", "pay_stray2"))
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "AwaitingPayment"

    harness.advance(dt.timedelta(seconds=40))
    webhook_at = harness.now
    pay(harness, suppliers, webhook_id="msg_real")
    assert confirmed_at(harness) - webhook_at <= dt.timedelta(seconds=10)

    view = finish(harness)
    assert view.status == "Confirmed" and view.payment.status == "Succeeded"
    assert sorted(r["paymentId"] for r in suppliers.refunds) == ["pay_stray1", "pay_stray2"]
    assert len(suppliers.expenses) == 1


def test_a_stray_whose_event_was_replaced_in_the_slot_is_refunded_from_the_providers_list(world):
    harness, suppliers = world
    suppliers.stray_payments = {"pay_s2": "succeeded"}  # a stray that really took money
    start(harness)
    await_payment(harness)
    # s1 is waited for; s2 and s3 arrive while the booking refunds s1: the slot keeps s3 only.
    for n in (1, 2, 3):
        harness.raise_event(BOOKING_ID, "PaymentSucceeded", stray(f"msg_s{n}", f"pay_s{n}"))
    harness.run_until_idle()
    pay(harness, suppliers, webhook_id="msg_real")

    view = finish(harness)
    assert view.status == "Confirmed"
    assert suppliers.stray_payments == {"pay_s2": "refunded"}
    assert harness.now < dt.datetime(2024, 1, 1, 0, 15, tzinfo=dt.UTC)  # not by waiting out the window


def test_a_real_success_after_a_repeated_failure_is_found_within_one_step(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    stale_failure(harness, times=2)  # the failure name is now asked, not waited
    harness.run_until_idle()
    harness.advance(dt.timedelta(seconds=20))
    suppliers.payment_status = "succeeded"  # paid; its webhook is lost
    paid_at = harness.now
    assert confirmed_at(harness) - paid_at <= RECHECK_EVERY
    assert finish(harness).status == "Confirmed"


def test_strays_and_repeated_stale_failures_back_to_back_end_by_the_deadline(world):
    # Found by the property test: both event names end up answered from the SDK's stale slot, and the
    # booking asks the provider every few seconds until the deadline — it must neither hang nor confirm.
    harness, suppliers = world
    start(harness, timeout_seconds=120)
    await_payment(harness)
    stale = payment_event("msg_stale", amount="0.00", reason="attempt")
    harness.raise_event(BOOKING_ID, "PaymentFailed", stale)
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", stray("msg_s1", "pay_s1"))
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", stray("msg_s2", "pay_s2"))
    harness.raise_event(BOOKING_ID, "PaymentFailed", stale)

    view = finish(harness)
    assert view.status == "Expired" and suppliers.active() == []
    assert sorted(r["paymentId"] for r in suppliers.refunds) == ["pay_s1", "pay_s2"]
    assert suppliers.calls["list_payments"] > 10  # asked on its cadence, not once at the deadline


def test_a_cancel_at_the_provider_that_loses_to_the_payment_refunds_it(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    listed = suppliers.list_payments

    def paid_right_after_the_list(order):
        answer = listed(order)
        suppliers.payment_status = "succeeded"  # the traveller pays between the list and the cancel
        return answer

    harness.replace_activity("list_payments", paid_right_after_the_list)
    harness.raise_event(BOOKING_ID, "CancelRequested", {})

    view = finish(harness)
    assert view.status == "Cancelled" and view.payment.status == "Refunded"
    assert suppliers.payment_status == "refunded"
    assert suppliers.sequence[-2:] == ["cancel_payment", "refund_payment"]


@pytest.mark.parametrize(
    ("version", "paid_first"),
    [
        # Before 3.0 the payment wait dropped a cancel the SDK had already handed over while the request
        # was at the provider: the booking waited out its deadline (Expired), or took the money.
        pytest.param("", False, marks=KEPT_PATH, id="unversioned"),
        pytest.param("2.0", False, marks=KEPT_PATH, id="2.0"),
        pytest.param("3.0", False, id="3.0"),
        pytest.param("3.0", True, id="3.0-paid-first"),
    ],
)
def test_a_cancel_while_the_payment_request_is_at_the_provider_ends_the_booking_at_once(version, paid_first):
    suppliers = Suppliers()
    with DurableHarness(make_app(), versioning=Versioning(default_version=version)) as harness:
        suppliers.install(harness)
        cancel = cancel_meanwhile(harness)

        async def cancel_then_maybe_pay() -> None:
            await cancel()
            if paid_first:
                suppliers.payment_status = "succeeded"  # the traveller pays before the booking hears of it

        suppliers.meanwhile[Activity.REQUEST_PAYMENT] = cancel_then_maybe_pay
        started = harness.now
        start(harness)
        view = finish(harness)
        # At once: not at the 15-minute payment deadline.
        assert harness.now - started < dt.timedelta(minutes=1)
    assert view.status == "Cancelled" and view.failure.code == "cancelled_by_traveller"
    assert suppliers.active() == []
    assert suppliers.calls[Activity.REQUEST_PAYMENT] == 1
    if paid_first:
        assert view.payment.status == "Refunded" and suppliers.payment_status == "refunded"
    else:
        assert view.payment.status == "Cancelled" and suppliers.payment_status == "cancelled"
