"""Payment activities against the real sandbox: request, check, list, refund (once)."""

from __future__ import annotations

import uuid

import pytest

from activities import ACTIVITIES
from booking import PaymentState, RefundOutcome
from booking.activity_io import Activity, BookingPayments
from booking.errors import SupplierProtocolError
from tests.activities.conftest import traveller

cancel_payment = ACTIVITIES[Activity.CANCEL_PAYMENT]
check_payment = ACTIVITIES[Activity.CHECK_PAYMENT]
list_payments = ACTIVITIES[Activity.LIST_PAYMENTS]
refund_payment = ACTIVITIES[Activity.REFUND_PAYMENT]
request_payment = ACTIVITIES[Activity.REQUEST_PAYMENT]

# Nothing listens here: the sandbox's webhook deliveries simply fail, which these tests do not need.
CALLBACK = "http://127.0.0.1:9/api/webhooks/payments"


async def request(email: str, amount: str = "873.00", booking_id: str | None = None) -> PaymentState:
    booking_id = booking_id or f"b-{uuid.uuid4().hex[:8]}"
    order = {
        "idempotencyKey": f"{booking_id}:payment",
        "bookingId": booking_id,
        "amount": {"amount": amount, "currency": "EUR"},
        "callbackUrl": CALLBACK,
        "traveller": traveller(email),
    }
    first = PaymentState.model_validate(await request_payment(order))
    assert PaymentState.model_validate(await request_payment(order)).payment_id == first.payment_id
    return first


async def test_request_then_check_a_pending_payment(suppliers_up, email):
    payment = await request(email.replace("@", "+nopay@"))
    assert payment.status == "pending" and str(payment.amount) == "873.00 EUR"
    assert payment.checkout_url is not None and payment.checkout_url.endswith(payment.payment_id)

    checked = PaymentState.model_validate(await check_payment({"paymentId": payment.payment_id}))
    assert checked.status == "pending"


async def test_refund_happens_once_and_only_for_money_taken(suppliers_up, email):
    payment = await request(email.replace("@", "+nopay@"), amount="12.50")
    refund = {
        "idempotencyKey": f"refund:{payment.payment_id}",
        "paymentId": payment.payment_id,
        "reason": "test",
    }

    pending = RefundOutcome.model_validate(await refund_payment(refund))
    assert pending.refunded is False and pending.detail == "payment_not_refundable"

    paid = await suppliers_up.post(
        f"/_sandbox/payments/{payment.payment_id}/webhooks", json={"type": "payment.succeeded"}
    )
    assert paid.status_code == 202, paid.text
    assert (
        PaymentState.model_validate(await check_payment({"paymentId": payment.payment_id})).status
        == "succeeded"
    )

    first = RefundOutcome.model_validate(await refund_payment(refund))
    again = RefundOutcome.model_validate(await refund_payment(refund))
    assert first.refunded and str(first.amount) == "12.50 EUR"
    assert again.refund_id == first.refund_id  # the same key never refunds twice
    assert (
        PaymentState.model_validate(await check_payment({"paymentId": payment.payment_id})).status
        == "refunded"
    )


async def test_checking_an_unknown_payment_is_an_error(suppliers_up):
    with pytest.raises(SupplierProtocolError):
        await check_payment({"paymentId": "pay_unknown"})


async def test_list_answers_every_payment_the_provider_holds_for_the_booking(suppliers_up, email):
    booking_id = f"b-{uuid.uuid4().hex[:8]}"
    payment = await request(email.replace("@", "+nopay@"), booking_id=booking_id)
    listed = BookingPayments.model_validate(await list_payments({"bookingId": booking_id}))
    assert [(p.payment_id, p.status) for p in listed.payments] == [(payment.payment_id, "pending")]
    assert listed.others_succeeded(payment.payment_id) == []
    nothing = BookingPayments.model_validate(await list_payments({"bookingId": "b-never-booked"}))
    assert nothing.payments == []


async def test_cancel_stops_a_pending_payment_and_answers_what_the_provider_holds(suppliers_up, email):
    pending = await request(email.replace("@", "+nopay@"), amount="20.00")
    cancelled = PaymentState.model_validate(await cancel_payment({"paymentId": pending.payment_id}))
    assert cancelled.status == "cancelled"
    again = PaymentState.model_validate(await cancel_payment({"paymentId": pending.payment_id}))
    assert again.status == "cancelled"  # idempotent
    with pytest.raises(SupplierProtocolError):
        await cancel_payment({"paymentId": "pay_unknown"})
