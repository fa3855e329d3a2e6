"""Payment provider: signed webhooks verified with the `standardwebhooks` library against a real
receiver, retries with backoff, +decline, +nopay, reconciliation status, refunds and cancel.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.sandbox.helpers import assert_problem, email, eventually, key, post
from tests.sandbox.receiver import Received
from tests.support.sandbox import TEST_WEBHOOK_SECRET


def payment(
    receiver_url: str, who: str, amount: str = "1234.50", booking_id: str | None = None
) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "EUR",
        "bookingId": booking_id or key(),
        "callbackUrl": receiver_url,
        "traveller": {"name": "Ada", "email": who},
    }


def verify(hook: Received) -> dict[str, Any]:
    """Verify exactly as the app will: the library, the shared secret, the raw body."""
    payload: dict[str, Any] = Webhook(TEST_WEBHOOK_SECRET).verify(hook.body, hook.headers)
    assert hook.headers["webhook-id"].startswith("msg_")
    assert abs(int(hook.headers["webhook-timestamp"]) - time.time()) < 60
    assert hook.headers["webhook-signature"].startswith("v1,")
    return payload


async def status_of(client, payment_id: str) -> str:
    status: str = (await client.get(f"/payment/payments/{payment_id}")).json()["status"]
    return status


async def test_payment_succeeds_and_the_webhook_is_signed_per_standard_webhooks(client, receiver):
    body = payment(receiver.url, email())
    r = await post(client, "/payment/payments", body)
    assert r.status_code == 201
    p = r.json()
    assert p["paymentId"].startswith("pay_") and p["status"] == "pending"
    assert p["checkoutUrl"].endswith(f"/payment/checkout/{p['paymentId']}")
    assert p["amount"] == "1234.50" and p["currency"] == "EUR"

    [hook] = await receiver.wait_for(1)
    assert verify(hook) == {
        "type": "payment.succeeded",
        "data": {
            "paymentId": p["paymentId"],
            "bookingId": body["bookingId"],
            "amount": "1234.50",
            "currency": "EUR",
        },
    }
    await eventually(lambda: _is(client, p["paymentId"], "succeeded"))
    listed = (await client.get("/_sandbox/payments", params={"bookingId": body["bookingId"]})).json()
    assert listed == [
        {
            "paymentId": p["paymentId"],
            "bookingId": body["bookingId"],
            "amount": "1234.50",
            "currency": "EUR",
            "status": "succeeded",
        }
    ]
    recon = (await client.get("/payment/payments", params={"bookingId": body["bookingId"]})).json()
    assert [x["status"] for x in recon] == ["succeeded"]
    page = await client.get(p["checkoutUrl"])
    assert page.status_code == 200 and "1234.50 EUR" in page.text


async def _is(client, payment_id: str, status: str) -> bool:
    return await status_of(client, payment_id) == status


async def test_a_tampered_webhook_fails_verification(client, receiver):
    await post(client, "/payment/payments", payment(receiver.url, email()))
    [hook] = await receiver.wait_for(1)
    forged = Received(hook.headers, hook.body.replace(b"1234.50", b"1.00"), 200, hook.at)
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(TEST_WEBHOOK_SECRET).verify(forged.body, forged.headers)


async def test_decline_sends_payment_failed_with_a_reason(client, receiver):
    p = (await post(client, "/payment/payments", payment(receiver.url, email("decline")))).json()
    [hook] = await receiver.wait_for(1)
    event = verify(hook)
    assert event["type"] == "payment.failed" and event["data"]["reason"] == "card_declined"
    assert event["data"]["paymentId"] == p["paymentId"]
    got = (await client.get(f"/payment/payments/{p['paymentId']}")).json()
    assert got["status"] == "failed" and got["failureReason"] == "card_declined"


async def test_nopay_never_calls_back_and_stays_pending(client, receiver):
    p = (await post(client, "/payment/payments", payment(receiver.url, email("nopay")))).json()
    # A normal payment created after it is delivered: by then the worker has passed the nopay one.
    await post(client, "/payment/payments", payment(receiver.url, email()))
    hooks = await receiver.wait_for(1)
    assert all(verify(h)["data"]["paymentId"] != p["paymentId"] for h in hooks)
    assert await status_of(client, p["paymentId"]) == "pending"
    assert (await client.get("/_sandbox/webhooks", params={"paymentId": p["paymentId"]})).json() == []


async def test_non_2xx_answers_are_retried_with_backoff_and_the_same_webhook_id(client, receiver):
    receiver.statuses = [500, 503, 404]
    p = (await post(client, "/payment/payments", payment(receiver.url, email()))).json()
    hooks = await receiver.wait_for(4)
    assert [h.answered for h in hooks] == [500, 503, 404, 200]
    assert len({h.headers["webhook-id"] for h in hooks}) == 1
    for h in hooks:
        verify(h)

    async def delivered() -> bool:
        [d] = (await client.get("/_sandbox/webhooks", params={"paymentId": p["paymentId"]})).json()
        done: bool = d["status"] == "delivered" and d["attempts"] == 4 and d["lastStatus"] == 200
        return done

    await eventually(delivered)


async def test_payments_resolved_together_reach_a_slow_app_a_few_at_a_time_and_all_arrive(client, receiver):
    # The session's sandbox sends at most 8 at once (SANDBOX_WEBHOOK_CONCURRENCY's default).
    receiver.delay = 0.3
    who = email()
    body = payment(receiver.url, who)
    created = await asyncio.gather(*(post(client, "/payment/payments", {**body, "bookingId": key()})
                                     for _ in range(20)))
    ids = {r.json()["paymentId"] for r in created}
    hooks = await receiver.wait_for(20, timeout=30)
    assert {verify(h)["data"]["paymentId"] for h in hooks} == ids
    assert 1 < receiver.most_in_flight <= 8
    assert all(h.answered == 200 for h in hooks)  # each delivered at its first attempt


async def test_payment_idempotency(client, receiver):
    body, k = payment(receiver.url, email()), key()
    first = await post(client, "/payment/payments", body, k)
    again = await post(client, "/payment/payments", body, k)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["paymentId"] == first.json()["paymentId"]
    assert_problem(
        await post(client, "/payment/payments", {**body, "amount": "1.00"}, k), 422, "idempotency_key_reused"
    )
    await receiver.wait_for(1)
    assert len((await client.get("/_sandbox/payments", params={"bookingId": body["bookingId"]})).json()) == 1


async def test_refunds_full_partial_idempotent_and_bounded(client, receiver):
    p = (await post(client, "/payment/payments", payment(receiver.url, email(), "100.00"))).json()
    pid = p["paymentId"]
    await eventually(lambda: _is(client, pid, "succeeded"))
    k = key()
    part = await post(client, f"/payment/payments/{pid}/refunds", {"amount": "30.00", "reason": "partial"}, k)
    assert part.status_code == 201 and part.json()["amount"] == "30.00"
    assert part.json()["refundId"].startswith("re_")
    replay = await post(
        client, f"/payment/payments/{pid}/refunds", {"amount": "30.00", "reason": "partial"}, k
    )
    assert replay.status_code == 200 and replay.json() == part.json()
    got = (await client.get(f"/payment/payments/{pid}")).json()
    assert got["status"] == "succeeded" and got["refundedAmount"] == "30.00"
    assert_problem(
        await post(client, f"/payment/payments/{pid}/refunds", {"amount": "70.01"}),
        422,
        "refund_exceeds_payment",
    )
    rest = await client.post(f"/payment/payments/{pid}/refunds", headers={"Idempotency-Key": key()})
    assert rest.status_code == 201 and rest.json()["amount"] == "70.00"
    got = (await client.get(f"/payment/payments/{pid}")).json()
    assert got["status"] == "refunded" and got["refundedAmount"] == "100.00" and len(got["refunds"]) == 2
    assert_problem(await post(client, f"/payment/payments/{pid}/refunds", {}), 409, "payment_not_refundable")
    listed = (await client.get("/_sandbox/payments", params={"bookingId": p["bookingId"]})).json()
    assert listed[0]["status"] == "refunded"
    assert_problem(await post(client, "/payment/payments/pay_NOPE/refunds", {}), 404, "payment_not_found")


async def test_pending_payment_cannot_be_refunded_but_can_be_cancelled(client, receiver):
    pid = (await post(client, "/payment/payments", payment(receiver.url, email("nopay")))).json()["paymentId"]
    assert_problem(await post(client, f"/payment/payments/{pid}/refunds", {}), 409, "payment_not_refundable")
    cancelled = await client.post(f"/payment/payments/{pid}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["failureReason"] is None
    again = await client.post(f"/payment/payments/{pid}/cancel")
    assert again.status_code == 200 and again.json() == cancelled.json()
    # A cancelled payment can no longer be paid, nor refunded.
    await post(client, f"/_sandbox/payments/{pid}/webhooks", {"type": "payment.succeeded"})
    booking = {"bookingId": cancelled.json()["bookingId"]}
    listed = (await client.get("/_sandbox/payments", params=booking)).json()
    assert [p["status"] for p in listed] == ["cancelled"]
    assert_problem(await post(client, f"/payment/payments/{pid}/refunds", {}), 409, "payment_not_refundable")
    assert_problem(await client.post("/payment/payments/pay_NOPE/cancel"), 404, "payment_not_found")


async def test_succeeded_payment_cannot_be_cancelled(client, receiver):
    pid = (await post(client, "/payment/payments", payment(receiver.url, email()))).json()["paymentId"]
    await eventually(lambda: _is(client, pid, "succeeded"))
    assert_problem(await client.post(f"/payment/payments/{pid}/cancel"), 409, "payment_not_cancellable")


async def test_payment_validation(client, receiver):
    body = payment("ftp://nowhere", email(), "0.00")
    p = assert_problem(await post(client, "/payment/payments", body), 422, "validation_error")
    assert {e["field"] for e in p["errors"]} == {"callbackUrl"}
    p = assert_problem(
        await post(client, "/payment/payments", payment(receiver.url, email(), "0.00")),
        422,
        "validation_error",
    )
    assert p["errors"] == [{"field": "amount", "message": "must be greater than 0"}]
    bad = {**payment(receiver.url, email()), "amount": 12.5, "currency": "eur"}
    p = assert_problem(await post(client, "/payment/payments", bad), 422, "validation_error")
    assert {e["field"] for e in p["errors"]} == {"amount", "currency"}
    assert_problem(await client.get("/payment/payments"), 400, "malformed_request")
    assert_problem(await client.get("/payment/payments/pay_NOPE"), 404, "payment_not_found")
