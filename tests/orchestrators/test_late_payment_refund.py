"""`late_payment_refund`: a success that arrives after the booking ended is refunded, once."""

from __future__ import annotations

from booking.activity_io import RefundOutcome
from devhost.history import RuntimeStatus
from tests.orchestrators.world import payment_event


def test_late_success_is_refunded_under_the_payments_one_refund_key(world):
    harness, suppliers = world
    suppliers.payments.append({"key": "b-1:payment", "amount": {"amount": "873.00", "currency": "EUR"}})
    suppliers.payment_status = "succeeded"
    event = payment_event("msg_late", amount="873.00") | {"bookingId": "b-1"}
    # The webhook endpoint starts it through the Python client, so the input arrives double encoded.
    harness.start_new("late_payment_refund", event, "refund-pay_1")

    status = harness.wait_for_completion("refund-pay_1")
    assert status.runtime_status is RuntimeStatus.Completed
    assert status.output_as(RefundOutcome).refunded is True
    (refund,) = suppliers.refunds
    assert refund == {"idempotencyKey": "refund:pay_1", "paymentId": "pay_1", "reason": "late_payment"}


def test_unreachable_provider_fails_loudly_instead_of_keeping_the_money(world):
    harness, suppliers = world

    def down(order):
        raise RuntimeError("503 unavailable")

    harness.replace_activity("refund_payment", down)
    harness.start_new("late_payment_refund", payment_event("msg_late", amount="1.00"), "refund-pay_1")

    status = harness.wait_for_completion("refund-pay_1")
    assert status.runtime_status is RuntimeStatus.Failed
    assert "refund of pay_1 not done" in status.output
