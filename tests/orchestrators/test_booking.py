"""The `booking` orchestrator through devhost's harness: every branch from trips to payment to expenses."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from booking import BookingView, RetryPolicy
from devhost.history import EventType
from devhost.testing import DurableHarness
from tests.orchestrators.world import Suppliers, booking_input, make_app, payment_event

BOOKING_ID = "b-1"
AMSTERDAM_TOTAL = Decimal("249.00") + Decimal("189.00") + 3 * Decimal("145.00")  # ticket, flight, 3 nights


@pytest.fixture
def world():
    suppliers = Suppliers()
    with DurableHarness(make_app()) as harness:
        suppliers.install(harness)
        yield harness, suppliers


def start(harness, **kwargs):
    return harness.start_new("booking", booking_input(booking_id=BOOKING_ID, **kwargs), BOOKING_ID)


def status_of(harness):
    return harness.get_status(BOOKING_ID)


def await_payment(harness):
    """Run until the booking waits for its payment; return its view then."""
    harness.run_until(lambda: (status_of(harness).custom_status or {}).get("status") == "AwaitingPayment")
    return status_of(harness).custom_status


def finish(harness):
    status = harness.wait_for_completion(BOOKING_ID)
    assert status.runtime_status == "Completed", status.output
    # The output is the final view, and it is what the custom status shows too.
    assert status.custom_status == status.output
    return BookingView.model_validate(status.output)


def pay(harness, suppliers, amount=None, webhook_id="msg_1"):
    suppliers.payment_status = "succeeded"
    paid = f"{amount if amount is not None else AMSTERDAM_TOTAL:.2f}"
    harness.raise_event(BOOKING_ID, "PaymentSucceeded", payment_event(webhook_id, amount=paid))


def test_happy_path_books_pays_and_reports_expenses(world):
    harness, suppliers = world
    start(harness)
    awaiting = await_payment(harness)

    assert awaiting["total"] == {"amount": f"{AMSTERDAM_TOTAL:.2f}", "currency": "EUR"}
    assert awaiting["payment"]["paymentId"] == "pay_1"
    assert awaiting["payment"]["checkoutUrl"].endswith("/pay_1")
    assert awaiting["payment"]["expiresAt"].startswith("2024-01-01T00:15:00")  # 900 s after the request
    assert awaiting["trips"][0]["status"] == "Booked"
    assert suppliers.payments[0]["key"] == f"{BOOKING_ID}:payment"

    pay(harness, suppliers)
    view = finish(harness)

    assert view.status == "Confirmed" and view.failure is None
    assert view.payment.status == "Succeeded"
    assert sorted(suppliers.kinds()) == ["flight", "hotel", "ticket"]
    (report,) = suppliers.expenses
    assert report["idempotencyKey"] == f"{BOOKING_ID}:expenses"
    assert sorted(line["category"] for line in report["lines"]) == ["flight", "hotel", "ticket"]
    assert suppliers.refunds == []


def test_payment_timer_is_cancelled_when_the_payment_wins(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    pay(harness, suppliers)
    harness.run_until_idle()

    # Completed right away, not Running until the 15-minute timer fires.
    assert status_of(harness).runtime_status == "Completed"
    assert harness.now < dt.datetime(2024, 1, 1, 0, 15, tzinfo=dt.UTC)


def test_three_trips_in_parallel_sum_to_one_payment(world):
    harness, suppliers = world
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
        {"conferenceId": "europython-prague-2027", "origin": "LHR"},
        {"conferenceId": "ndc-oslo-2027", "origin": "MAD", "hotel": False},
    ]
    start(harness, trips=trips)
    awaiting = await_payment(harness)

    parts = [
        p["price"]["amount"]
        for t in awaiting["trips"]
        for p in (t.get("ticket"), t.get("travel"), t.get("hotel"))
        if p
    ]
    total = sum(Decimal(a) for a in parts)
    assert Decimal(awaiting["total"]["amount"]) == total
    assert len(suppliers.kinds()) == 8
    # Each trip is its own sub-orchestration with a deterministic id.
    created = [
        e["InstanceId"]
        for e in harness.history(BOOKING_ID)
        if e["EventType"] == EventType.SubOrchestrationInstanceCreated
    ]
    assert created == [f"{BOOKING_ID}:trip:{n}" for n in range(3)]

    pay(harness, suppliers, amount=total)
    assert finish(harness).status == "Confirmed"


def test_one_of_three_trips_failing_undoes_the_other_two(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Oslo"}
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
        {"conferenceId": "europython-prague-2027", "origin": "LHR"},
        {"conferenceId": "ndc-oslo-2027", "origin": "MAD"},
    ]
    start(harness, trips=trips)
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    assert [t.status for t in view.trips] == ["Undone", "Undone", "Failed"]
    assert suppliers.active() == []
    assert len(suppliers.kinds("undone")) == 8
    assert suppliers.payments == []


def test_no_travel_fails_with_everything_undone_and_no_payment(world):
    harness, suppliers = world
    suppliers.no_flight_from = suppliers.no_train_from = {"BER"}
    start(harness)
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "no_travel_route"
    assert suppliers.active() == [] and suppliers.kinds("undone") == ["ticket"]
    assert suppliers.payments == [] and view.payment.status == "NotStarted"


def test_hotel_sold_out_fails_the_booking(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Amsterdam"}
    start(harness)
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    assert suppliers.active() == []


def test_flaky_airline_still_confirms(world):
    harness, suppliers = world
    suppliers.flight_503s = 2
    start(harness)
    await_payment(harness)
    pay(harness, suppliers)

    view = finish(harness)
    assert view.status == "Confirmed" and view.trips[0].travel.mode == "flight"
    assert suppliers.calls["book_flight"] == 3


def test_no_flight_confirms_by_train(world):
    harness, suppliers = world
    suppliers.no_flight_from = {"BER"}
    start(harness)
    awaiting = await_payment(harness)
    pay(harness, suppliers, amount=Decimal(awaiting["total"]["amount"]))

    view = finish(harness)
    assert view.status == "Confirmed" and view.trips[0].travel.mode == "train"


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
    # once at the deadline (reconciliation), once more just before ending (settlement)
    assert suppliers.calls["check_payment"] == 2
    assert view.payment.status == "Pending"  # may still succeed: a late webhook is refunded by the edge


def test_reconciliation_finds_a_payment_whose_webhook_was_lost(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    suppliers.payment_status = "succeeded"  # paid, but no webhook ever arrives

    view = finish(harness)
    assert view.status == "Confirmed" and view.payment.status == "Succeeded"
    assert len(suppliers.expenses) == 1 and suppliers.refunds == []


def test_cancel_while_awaiting_payment_undoes_everything_and_stops_the_timer(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    harness.raise_event(BOOKING_ID, "CancelRequested", {"reason": "changed my mind"})
    harness.run_until_idle()

    assert status_of(harness).runtime_status == "Completed"  # no 15-minute timer holding it open
    view = finish(harness)
    assert view.status == "Cancelled" and view.failure.code == "cancelled_by_traveller"
    assert suppliers.active() == []


def test_cancel_requested_while_booking_is_honoured_at_the_payment_wait(world):
    harness, suppliers = world
    suppliers.flight_503s = 2  # the booking is still busy with retries when the cancel arrives
    start(harness)
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "Booking"
    harness.raise_event(BOOKING_ID, "CancelRequested", {})

    view = finish(harness)
    assert view.status == "Cancelled" and suppliers.active() == []


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
    assert suppliers.sequence[last_undo + 1 :] == ["check_payment", "refund_payment"]


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


def test_duplicate_payment_events_are_not_counted_twice(world):
    harness, suppliers = world
    start(harness)
    await_payment(harness)
    # A stale failure while the payment is still pending keeps the booking waiting ...
    stale = payment_event("msg_old", amount="0.00", reason="attempt_declined")
    harness.raise_event(BOOKING_ID, "PaymentFailed", stale)
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "AwaitingPayment"
    # ... and its redelivery does not count again (it would otherwise be a second "failure").
    harness.raise_event(BOOKING_ID, "PaymentFailed", stale)
    harness.run_until_idle()
    assert status_of(harness).custom_status["status"] == "AwaitingPayment"
    assert suppliers.calls["check_payment"] == 1

    suppliers.payment_status = "succeeded"
    view = finish(harness)  # decided by reconciliation at the deadline
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


def test_the_traveller_email_is_never_logged(world, caplog):
    harness, suppliers = world
    caplog.set_level("DEBUG")
    suppliers.sold_out_cities = {"Amsterdam"}
    harness.start_new(
        "booking", booking_input(booking_id=BOOKING_ID, email="secret.person@example.com"), BOOKING_ID
    )
    finish(harness)
    assert caplog.records
    assert "secret.person" not in caplog.text


def test_ten_trips_keep_the_custom_status_well_under_the_runtime_cap(world):
    harness, suppliers = world
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": origin}
        for origin in ("BER", "LHR", "CDG", "MUC", "WAW", "MAD", "JFK", "SFO", "BER", "LHR")
    ]
    start(harness, trips=trips)
    awaiting = await_payment(harness)

    text = json.dumps(awaiting, separators=(",", ":"))
    # The extension refuses a custom status over 16 KB counted in UTF-16: keep a quarter spare.
    assert len(text.encode("utf-16-le")) < 12 * 1024, len(text)


def test_an_undo_that_keeps_failing_is_not_reported_as_undone(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Oslo"}
    suppliers.undo_503s = 99  # the suppliers refuse every undo
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
        {"conferenceId": "ndc-oslo-2027", "origin": "MAD"},
    ]
    start(harness, trips=trips, retry=RetryPolicy(first_interval_ms=100, max_interval_ms=400, max_attempts=3))
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    # Honest about what is left: the booked trip could not be undone, so it does not say Undone.
    assert [t.status for t in view.trips] == ["Failed", "Failed"]
    assert suppliers.calls["undo_hotel"] == 3  # every undo was tried max_attempts times
