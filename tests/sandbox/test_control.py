"""Control endpoints on a private sandbox (they change global behaviour): fault injection, webhook
delivery modes (duplicate, late, out of order, dropped), manual webhooks, and giving up on retries.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.sandbox.helpers import assert_problem, email, eventually, key, post
from tests.sandbox.test_payment import payment
from tests.support.sandbox import SandboxProcess, sandbox_process


@pytest.fixture(scope="module")
def private() -> Iterator[SandboxProcess]:
    with sandbox_process(env={"SANDBOX_WEBHOOK_MAX_ATTEMPTS": "3"}) as running:
        yield running


@pytest.fixture
async def control(private: SandboxProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=private.url, timeout=10) as c:
        yield c
        # Leave the private sandbox as found for the next test.
        await c.delete("/_sandbox/faults")
        await c.put("/_sandbox/webhook-mode", json={"mode": "normal"})


async def search(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(
        "/airline/flights", params={"origin": "BER", "destination": "AMS", "date": "2027-06-02"}
    )


async def test_error_every_nth_request(control):
    r = await control.put("/_sandbox/faults/airline", json={"errorEvery": 3})
    assert r.status_code == 200 and r.json()["errorEvery"] == 3
    statuses = [(await search(control)).status_code for _ in range(6)]
    assert statuses == [200, 200, 503, 200, 200, 503]
    # Other APIs and the control API are untouched.
    assert (await control.get("/hotel/hotels", params={"city": "Oslo"})).status_code == 200
    assert (await control.get("/_sandbox/faults")).json()["hotel"]["errorEvery"] == 0


async def test_rate_limit_every_nth_with_retry_after(control):
    await control.put("/_sandbox/faults/conference", json={"rateLimitEvery": 2, "retryAfterSeconds": 7})
    first = await control.get("/conference/conferences")
    second = await control.get("/conference/conferences")
    assert first.status_code == 200
    assert_problem(second, 429, "rate_limited")
    assert second.headers["Retry-After"] == "7"


async def test_error_rate_is_reproducible_from_its_seed(control):
    settings = {"errorRate": 0.5, "seed": 42}
    await control.put("/_sandbox/faults/airline", json=settings)
    first = [(await search(control)).status_code for _ in range(30)]
    await control.put("/_sandbox/faults/airline", json=settings)
    second = [(await search(control)).status_code for _ in range(30)]
    assert first == second
    assert set(first) == {200, 503}


async def test_faults_apply_to_writes_and_latency_is_accepted(control):
    await control.put("/_sandbox/faults/hotel", json={"errorRate": 1.0, "latencyMs": 20})
    body: dict[str, Any] = {
        "city": "Oslo",
        "checkIn": "2027-05-23",
        "checkOut": "2027-05-29",
        "traveller": {"email": email()},
    }
    assert_problem(await post(control, "/hotel/reservations", body), 503, "unavailable")
    assert (
        await control.get("/_sandbox/bookings", params={"email": body["traveller"]["email"]})
    ).json() == []
    assert (await control.get("/_sandbox/faults")).json()["hotel"]["latencyMs"] == 20
    assert (await control.delete("/_sandbox/faults")).status_code == 204
    assert (await post(control, "/hotel/reservations", body)).status_code == 201


async def test_latency_after_commits_the_booking_before_a_client_that_times_out(control, private):
    """latencyAfterMs holds the answer back after the handler committed: the caller's timeout hides a
    real booking, which the same Idempotency-Key then answers (the "outcome unknown" case)."""
    await control.put("/_sandbox/faults/airline", json={"latencyAfterMs": 2000})
    who, idem = email(), key()
    body = {
        "origin": "BER",
        "destination": "AMS",
        "outboundDate": "2027-06-02",
        "returnDate": "2027-06-05",
        "traveller": {"name": "Ada", "email": who},
    }
    async with httpx.AsyncClient(base_url=private.url, timeout=0.3) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await post(impatient, "/airline/bookings", body, idem)

    async def booked() -> bool:
        found = (await control.get("/_sandbox/bookings", params={"email": who})).json()
        return [(b["supplier"], b["status"], b["idempotencyKey"]) for b in found] == [
            ("airline", "active", idem)
        ]

    await eventually(booked)
    assert (await control.get("/_sandbox/faults")).json()["airline"]["latencyAfterMs"] == 2000
    await control.delete("/_sandbox/faults")
    replay = await post(control, "/airline/bookings", body, idem)
    assert replay.status_code == 200, replay.text
    assert len((await control.get("/_sandbox/bookings", params={"email": who})).json()) == 1


async def test_latency_after_delays_an_injected_error_without_handling_the_request(control, private):
    await control.put("/_sandbox/faults/hotel", json={"errorEvery": 1, "latencyAfterMs": 2000})
    who = email()
    body = {"city": "Oslo", "checkIn": "2027-05-23", "checkOut": "2027-05-29", "traveller": {"email": who}}
    async with httpx.AsyncClient(base_url=private.url, timeout=0.3) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await post(impatient, "/hotel/reservations", body)
    assert (await control.get("/_sandbox/bookings", params={"email": who})).json() == []


async def test_latency_after_is_in_the_openapi_document_and_bounded(control):
    schema = (await control.get("/openapi.json")).json()["components"]["schemas"]["FaultSettings"]
    assert schema["properties"]["latencyAfterMs"]["maximum"] == 30_000
    p = assert_problem(
        await control.put("/_sandbox/faults/airline", json={"latencyAfterMs": 30_001}),
        422,
        "validation_error",
    )
    assert p["errors"][0]["field"] == "latencyAfterMs"


async def test_fault_settings_are_validated(control):
    assert_problem(await control.put("/_sandbox/faults/teleport", json={}), 404, "not_found")
    p = assert_problem(
        await control.put("/_sandbox/faults/airline", json={"errorRate": 2}), 422, "validation_error"
    )
    assert p["errors"][0]["field"] == "errorRate"
    assert_problem(
        await control.put("/_sandbox/webhook-mode", json={"mode": "sometimes"}), 422, "validation_error"
    )


async def deliveries(client, payment_id):
    return (await client.get("/_sandbox/webhooks", params={"paymentId": payment_id})).json()


async def test_duplicate_mode_delivers_the_same_event_several_times(control, private, receiver):
    await control.put("/_sandbox/webhook-mode", json={"mode": "duplicate", "copies": 3})
    pid = (await post(control, "/payment/payments", payment(receiver.url, email()))).json()["paymentId"]
    hooks = await receiver.wait_for(3)
    assert len({h.headers["webhook-id"] for h in hooks}) == 1
    assert [Webhook(private.webhook_secret).verify(h.body, h.headers)["type"] for h in hooks] == [
        "payment.succeeded"
    ] * 3
    assert len(await deliveries(control, pid)) == 3


async def test_drop_mode_resolves_the_payment_without_a_webhook(control, receiver):
    await control.put("/_sandbox/webhook-mode", json={"mode": "drop"})
    dropped = (await post(control, "/payment/payments", payment(receiver.url, email()))).json()["paymentId"]
    await eventually(lambda: _status(control, dropped, "succeeded"))
    await control.put("/_sandbox/webhook-mode", json={"mode": "normal"})
    normal = (await post(control, "/payment/payments", payment(receiver.url, email()))).json()["paymentId"]
    hooks = await receiver.wait_for(1)
    assert [h.json["data"]["paymentId"] for h in hooks] == [normal]
    [row] = await deliveries(control, dropped)
    assert row["status"] == "dropped" and row["attempts"] == 0


async def _status(client, pid: str, status: str) -> bool:
    current: str = (await client.get(f"/payment/payments/{pid}")).json()["status"]
    return current == status


async def test_late_mode_delays_the_delivery(control, receiver):
    await control.put("/_sandbox/webhook-mode", json={"mode": "late", "lateSeconds": 0.5})
    pid = (await post(control, "/payment/payments", payment(receiver.url, email()))).json()["paymentId"]
    [hook] = await receiver.wait_for(1)
    assert hook.json["data"]["paymentId"] == pid
    resolved = datetime.fromisoformat((await control.get(f"/payment/payments/{pid}")).json()["updatedAt"])
    # A lower bound only: the webhook cannot arrive before the payment resolved plus lateSeconds.
    assert hook.at - resolved.timestamp() >= 0.45


async def test_out_of_order_mode_sends_a_stale_failure_after_the_success(control, private, receiver):
    await control.put("/_sandbox/webhook-mode", json={"mode": "out_of_order"})
    pid = (await post(control, "/payment/payments", payment(receiver.url, email()))).json()["paymentId"]
    hooks = await receiver.wait_for(2)
    events = [Webhook(private.webhook_secret).verify(h.body, h.headers) for h in hooks]
    assert [e["type"] for e in events] == ["payment.succeeded", "payment.failed"]
    assert events[1]["data"]["reason"] == "attempt_declined" and events[1]["data"]["paymentId"] == pid
    assert hooks[0].headers["webhook-id"] != hooks[1].headers["webhook-id"]
    assert (await control.get(f"/payment/payments/{pid}")).json()["status"] == "succeeded"


async def test_manual_webhook_can_forge_duplicate_and_settle_a_nopay_payment(control, private, receiver):
    body = payment(receiver.url, email("nopay"), "50.00")
    pid = (await post(control, "/payment/payments", body)).json()["paymentId"]
    r = await control.post(
        f"/_sandbox/payments/{pid}/webhooks",
        json={"type": "payment.succeeded", "amount": "49.99", "webhookId": "msg_manual_1", "copies": 2},
    )
    assert r.status_code == 202 and r.json() == {"webhookId": "msg_manual_1", "scheduled": 2}
    hooks = await receiver.wait_for(2)
    for h in hooks:
        event = Webhook(private.webhook_secret).verify(h.body, h.headers)
        assert h.headers["webhook-id"] == "msg_manual_1"
        assert event["data"] == {
            "paymentId": pid,
            "bookingId": body["bookingId"],
            "amount": "49.99",
            "currency": "EUR",
        }
    assert (await control.get(f"/payment/payments/{pid}")).json()["status"] == "succeeded"
    assert_problem(
        await control.post("/_sandbox/payments/pay_NOPE/webhooks", json={"type": "payment.failed"}),
        404,
        "payment_not_found",
    )
    assert_problem(
        await control.post(f"/_sandbox/payments/{pid}/webhooks", json={"type": "payment.maybe"}),
        422,
        "validation_error",
    )


async def test_delivery_gives_up_after_the_maximum_attempts(control, receiver):
    receiver.default = 500
    pid = (await post(control, "/payment/payments", payment(receiver.url, email()))).json()["paymentId"]
    await receiver.wait_for(3)

    async def failed() -> bool:
        rows = await deliveries(control, pid)
        status: str = rows[0]["status"]
        return status == "failed"

    await eventually(failed)
    [row] = await deliveries(control, pid)
    assert row["attempts"] == 3 and row["lastStatus"] == 500 and row["nextAttemptAt"] is None
    assert len(receiver.received) == 3


async def test_unreachable_callback_is_retried_and_recorded(control):
    # A port nobody listens on: bind-and-close gives a free one on this host.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pid = (await post(control, "/payment/payments", payment(f"http://127.0.0.1:{port}/x", email()))).json()[
        "paymentId"
    ]

    async def failed() -> bool:
        rows = await deliveries(control, pid)
        return bool(rows) and rows[0]["status"] == "failed"

    await eventually(failed)
    [row] = await deliveries(control, pid)
    assert row["attempts"] == 3 and row["lastStatus"] is None and "Connect" in row["lastError"]
