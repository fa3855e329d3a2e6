"""The edge end to end through the SDK's real DurableOrchestrationClient and devhost's management API
over an in-memory engine (devhost.http.testing), with stand-in orchestrators (tests/clients/standin_app).

start → status → cancel → webhook → list → events, and Idempotency-Key replay, misuse and races.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from devhost.http.testing import DurableTestHost, durable_host
from tests.clients import standin_app
from tests.clients.support import body_of, invoke, request, signed

TRIP = {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"}
WAIT_SECONDS = 15.0


def booking_body(email: str = "ada@example.com", trips: int = 1) -> dict[str, Any]:
    return {"traveller": {"name": "Ada Lovelace", "email": email}, "trips": [TRIP] * trips, "currency": "EUR"}


@pytest.fixture
async def host() -> AsyncIterator[DurableTestHost]:
    async with durable_host(standin_app.app) as running:
        yield running


async def start(host: DurableTestHost, body: dict[str, Any] | None = None, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    req = request("POST", "bookings", body=body or booking_body(), headers=headers)
    return await invoke("start_booking", req, host.client_binding)


async def get(host: DurableTestHost, booking_id: str):
    req = request("GET", f"bookings/{booking_id}", route_params={"bookingId": booking_id})
    return await invoke("get_booking", req, host.client_binding)


async def wait_for(host: DurableTestHost, booking_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await get(host, booking_id)
        if response.status_code == 200:
            last = body_of(response)
            if last["status"] in statuses:
                return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"{booking_id} never reached {statuses}: {last}")


async def pay(
    host: DurableTestHost,
    booking: dict[str, Any],
    secret: str,
    *,
    kind: str = "payment.succeeded",
    webhook_id: str | None = None,
    **data: Any,
):
    document = {
        "type": kind,
        "data": {
            "paymentId": booking["payment"]["paymentId"],
            "bookingId": booking["bookingId"],
            "amount": booking["total"]["amount"],
            "currency": booking["total"]["currency"],
            **data,
        },
    }
    body = json.dumps(document).encode()
    headers = signed(body, secret, webhook_id=webhook_id or f"msg_{uuid.uuid4().hex}")
    return await invoke(
        "payment_webhook",
        request("POST", "webhooks/payments", body=body, headers=headers),
        host.client_binding,
    )


async def booking_instances(host: DurableTestHost) -> list[str]:
    from devhost.store.base import InstanceQuery

    records, _ = await host.store.query_instances(InstanceQuery(), 1000, None)
    return sorted(r.instance_id for r in records if r.name == "booking")


# --- start and read --------------------------------------------------------------------------------------


async def test_start_answers_202_with_our_own_links_and_the_booking_progresses(host: DurableTestHost) -> None:
    response = await start(host)
    assert response.status_code == 202
    accepted = body_of(response)
    booking_id = accepted["bookingId"]
    assert accepted["status"] == "Pending"
    assert accepted["links"]["self"] == f"http://127.0.0.1:7071/api/bookings/{booking_id}"
    assert accepted["links"]["cancel"] == f"http://127.0.0.1:7071/api/bookings/{booking_id}/cancel"
    assert response.headers["Location"] == accepted["links"]["self"]
    assert int(response.headers["Retry-After"]) > 0

    booking = await wait_for(host, booking_id, "AwaitingPayment")
    assert booking["bookingId"] == booking_id
    assert booking["total"] == {"amount": "100.00", "currency": "EUR"}
    assert booking["trips"][0]["ticket"]["reference"] == "CT-0"
    assert booking["createdAt"].endswith("Z") and booking["updatedAt"] >= booking["createdAt"]
    assert (await get(host, booking_id)).headers.get("Retry-After") == "5"
    for text in (response.get_body().decode(), json.dumps(dict(response.headers)), json.dumps(booking)):
        assert "runtime/webhooks" not in text and "durabletask" not in text and "code=" not in text


async def test_a_valid_but_unknown_booking_id_is_404(host: DurableTestHost) -> None:
    unknown = "bk_" + "f" * 32
    response = await get(host, unknown)
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    req = request("POST", f"bookings/{unknown}/cancel", route_params={"bookingId": unknown})
    assert (await invoke("cancel_booking", req, host.client_binding)).status_code == 404
    req = request("GET", f"bookings/{unknown}/events", route_params={"bookingId": unknown})
    assert (await invoke("booking_events", req, host.client_binding)).status_code == 404


# --- payment webhook -------------------------------------------------------------------------------------


async def test_a_signed_payment_confirms_and_redeliveries_change_nothing(
    host: DurableTestHost, app_settings: dict[str, str]
) -> None:
    secret = app_settings["PAYMENT_WEBHOOK_SECRET"]
    booking_id = body_of(await start(host))["bookingId"]
    booking = await wait_for(host, booking_id, "AwaitingPayment")

    first = await pay(host, booking, secret, webhook_id="msg_first")
    assert first.status_code == 200 and body_of(first)["outcome"] == "raised"
    confirmed = await wait_for(host, booking_id, "Confirmed")
    assert confirmed["payment"]["status"] == "Succeeded"
    assert "Retry-After" not in (await get(host, booking_id)).headers

    same_id = await pay(host, booking, secret, webhook_id="msg_first")
    assert same_id.status_code == 200 and body_of(same_id)["outcome"] == "duplicate"
    # The provider may redeliver under a new webhook-id, or to another worker: still nothing happens.
    from clients.dedupe import recent_webhooks

    recent_webhooks.forget_all()
    again = await pay(host, booking, secret, webhook_id="msg_first")
    assert again.status_code == 200 and body_of(again)["outcome"] == "duplicate"
    assert await host.status("refund-" + booking["payment"]["paymentId"]) is None
    assert standin_app.refunds.count(booking["payment"]["paymentId"]) == 0


async def test_a_failed_payment_fails_the_booking(
    host: DurableTestHost, app_settings: dict[str, str]
) -> None:
    booking_id = body_of(await start(host))["bookingId"]
    booking = await wait_for(host, booking_id, "AwaitingPayment")
    response = await pay(
        host, booking, app_settings["PAYMENT_WEBHOOK_SECRET"], kind="payment.failed", reason="card_declined"
    )
    assert response.status_code == 200
    ended = await wait_for(host, booking_id, "Failed")
    assert ended["failure"]["code"] == "payment_failed"


async def test_a_payment_for_an_unknown_booking_is_404(
    host: DurableTestHost, app_settings: dict[str, str]
) -> None:
    ghost = {
        "bookingId": "bk_" + "e" * 32,
        "payment": {"paymentId": "pay_x"},
        "total": {"amount": "1.00", "currency": "EUR"},
    }
    response = await pay(host, ghost, app_settings["PAYMENT_WEBHOOK_SECRET"])
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert await host.status("refund-pay_x") is None


async def test_a_late_payment_is_refunded_once(host: DurableTestHost, app_settings: dict[str, str]) -> None:
    secret = app_settings["PAYMENT_WEBHOOK_SECRET"]
    booking_id = body_of(await start(host))["bookingId"]
    booking = await wait_for(host, booking_id, "AwaitingPayment")
    req = request("POST", f"bookings/{booking_id}/cancel", route_params={"bookingId": booking_id})
    assert (await invoke("cancel_booking", req, host.client_binding)).status_code == 202
    await wait_for(host, booking_id, "Cancelled")

    late = await pay(host, booking, secret)
    assert late.status_code == 200 and body_of(late)["outcome"] == "refund-started"
    payment_id = booking["payment"]["paymentId"]
    record = await host.wait_for("refund-" + payment_id)
    assert record.runtime_status.name == "Completed"
    redelivered = await pay(host, booking, secret)  # a new webhook-id for the same payment
    assert redelivered.status_code == 200 and body_of(redelivered)["outcome"] == "refund-already-started"
    assert standin_app.refunds.count(payment_id) == 1
    assert (await wait_for(host, booking_id, "Cancelled"))["status"] == "Cancelled"


async def test_concurrent_late_deliveries_start_one_refund(
    host: DurableTestHost, app_settings: dict[str, str]
) -> None:
    secret = app_settings["PAYMENT_WEBHOOK_SECRET"]
    booking_id = body_of(await start(host))["bookingId"]
    booking = await wait_for(host, booking_id, "AwaitingPayment")
    req = request("POST", f"bookings/{booking_id}/cancel", route_params={"bookingId": booking_id})
    await invoke("cancel_booking", req, host.client_binding)
    await wait_for(host, booking_id, "Cancelled")
    answers = await asyncio.gather(*(pay(host, booking, secret) for _ in range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]
    payment_id = booking["payment"]["paymentId"]
    await host.wait_for("refund-" + payment_id)
    await asyncio.sleep(0.2)
    assert standin_app.refunds.count(payment_id) == 1


# --- cancel ----------------------------------------------------------------------------------------------


async def test_cancel_a_waiting_booking_then_409_once_final(host: DurableTestHost) -> None:
    booking_id = body_of(await start(host))["bookingId"]
    await wait_for(host, booking_id, "AwaitingPayment")
    req = request("POST", f"bookings/{booking_id}/cancel", route_params={"bookingId": booking_id})
    response = await invoke("cancel_booking", req, host.client_binding)
    assert response.status_code == 202
    assert body_of(response) == {"bookingId": booking_id, "status": "Cancelling"}
    ended = await wait_for(host, booking_id, "Cancelled")
    assert ended["failure"]["code"] == "cancelled_by_traveller"
    again = await invoke("cancel_booking", req, host.client_binding)
    assert again.status_code == 409 and body_of(again)["detail"].endswith("Cancelled.")


async def test_cancel_with_a_reason_body(host: DurableTestHost) -> None:
    booking_id = body_of(await start(host))["bookingId"]
    await wait_for(host, booking_id, "AwaitingPayment")
    req = request(
        "POST",
        f"bookings/{booking_id}/cancel",
        body={"reason": "plans changed"},
        route_params={"bookingId": booking_id},
    )
    assert (await invoke("cancel_booking", req, host.client_binding)).status_code == 202
    await wait_for(host, booking_id, "Cancelled")


# --- Idempotency-Key -------------------------------------------------------------------------------------


async def test_the_same_key_and_body_answer_the_same_booking(host: DurableTestHost) -> None:
    key = f"order-{uuid.uuid4().hex}"
    first = await start(host, key=key)
    booking_id = body_of(first)["bookingId"]
    again = await start(host, key=key)
    assert again.status_code == 202 and body_of(again)["bookingId"] == booking_id
    # Key order and defaults do not make a different body.
    reordered = {
        "currency": "EUR",
        "trips": [{**TRIP, "hotel": True}],
        "traveller": booking_body()["traveller"],
    }
    assert body_of(await start(host, reordered, key=key))["bookingId"] == booking_id
    assert await booking_instances(host) == [booking_id]


async def test_the_same_key_with_another_body_is_422(host: DurableTestHost) -> None:
    key = f"order-{uuid.uuid4().hex}"
    booking_id = body_of(await start(host, key=key))["bookingId"]
    other = await start(host, booking_body(trips=2), key=key)
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"
    assert await booking_instances(host) == [booking_id]


async def test_a_replay_after_the_booking_ended_does_not_start_it_again(
    host: DurableTestHost, app_settings: dict[str, str]
) -> None:
    key = f"order-{uuid.uuid4().hex}"
    booking_id = body_of(await start(host, key=key))["bookingId"]
    booking = await wait_for(host, booking_id, "AwaitingPayment")
    await pay(host, booking, app_settings["PAYMENT_WEBHOOK_SECRET"])
    await wait_for(host, booking_id, "Confirmed")
    record = await host.status(booking_id)
    assert record is not None
    created = record.created_time

    replay = await start(host, key=key)
    assert replay.status_code == 202
    assert body_of(replay) == {**body_of(replay), "bookingId": booking_id, "status": "Confirmed"}
    replayed = await host.status(booking_id)
    assert replayed is not None and replayed.created_time == created
    assert (await wait_for(host, booking_id, "Confirmed"))["status"] == "Confirmed"


async def test_identical_posts_at_the_same_moment_start_one_orchestration(
    host: DurableTestHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.durable_functions as df

    refused: list[str] = []
    real_start_new = df.DurableOrchestrationClient.start_new

    async def observed_start_new(self, *args, **kwargs):  # observes the SDK call, changes nothing
        try:
            return await real_start_new(self, *args, **kwargs)
        except Exception as exc:
            refused.append(str(exc))
            raise

    monkeypatch.setattr(df.DurableOrchestrationClient, "start_new", observed_start_new)
    key = f"order-{uuid.uuid4().hex}"
    answers = await asyncio.gather(*(start(host, key=key) for _ in range(5)))
    # All five passed the "no booking yet" read before any start: the runtime refused the later starts.
    assert refused, "the race did not happen: the test would prove nothing"
    assert [a.status_code for a in answers] == [202] * 5
    ids = {body_of(a)["bookingId"] for a in answers}
    assert len(ids) == 1
    assert await booking_instances(host) == sorted(ids)
    (booking_id,) = ids
    await wait_for(host, booking_id, "AwaitingPayment")
    history = await host.store.get_history(booking_id)
    assert [e["EventType"] for e in history].count(0) == 1  # one ExecutionStarted: started once


async def test_without_a_key_each_post_is_a_new_booking(host: DurableTestHost) -> None:
    first, second = await start(host), await start(host)
    assert body_of(first)["bookingId"] != body_of(second)["bookingId"]


# --- list, events, health --------------------------------------------------------------------------------


async def test_list_is_newest_first_filters_by_status_and_limits(host: DurableTestHost) -> None:
    ids = []
    for _ in range(3):
        booking_id = body_of(await start(host))["bookingId"]
        await wait_for(host, booking_id, "AwaitingPayment")
        ids.append(booking_id)
        await asyncio.sleep(1.05)  # createdTime has seconds precision (PROTOCOL.md §5.3)
    req = request("POST", f"bookings/{ids[0]}/cancel", route_params={"bookingId": ids[0]})
    await invoke("cancel_booking", req, host.client_binding)
    await wait_for(host, ids[0], "Cancelled")

    listed = body_of(await invoke("list_bookings", request("GET", "bookings"), host.client_binding))
    assert [b["bookingId"] for b in listed["bookings"]] == ids[::-1] and listed["count"] == 3
    cancelled = body_of(
        await invoke(
            "list_bookings", request("GET", "bookings", params={"status": "Cancelled"}), host.client_binding
        )
    )
    assert [b["bookingId"] for b in cancelled["bookings"]] == [ids[0]]
    waiting = body_of(
        await invoke(
            "list_bookings",
            request("GET", "bookings", params={"status": "awaitingpayment", "limit": "1"}),
            host.client_binding,
        )
    )
    assert [b["bookingId"] for b in waiting["bookings"]] == [ids[2]]


async def test_events_show_the_retry_the_payment_and_the_cancel(host: DurableTestHost) -> None:
    booking_id = body_of(await start(host))["bookingId"]
    await wait_for(host, booking_id, "AwaitingPayment")
    req = request("POST", f"bookings/{booking_id}/cancel", route_params={"bookingId": booking_id})
    await invoke("cancel_booking", req, host.client_binding)
    await wait_for(host, booking_id, "Cancelled")

    req = request("GET", f"bookings/{booking_id}/events", route_params={"bookingId": booking_id})
    response = await invoke("booking_events", req, host.client_binding)
    assert response.status_code == 200
    events = body_of(response)
    kinds = [(e["type"], e.get("step"), e.get("outcome")) for e in events]
    assert kinds[0] == ("started", None, None)
    assert ("supplier_call", "book_flight", "error") in kinds
    assert ("retry", "book_flight", None) in kinds
    assert ("supplier_call", "book_flight", "booked") in kinds
    assert ("payment", "request_payment", "pending") in kinds
    assert any(e["type"] == "event" and e["name"] == "CancelRequested" for e in events)
    assert kinds[-1] == ("completed", None, "Cancelled")
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert "ada@example.com" not in response.get_body().decode()


async def test_health_is_ok_through_the_durable_client(host: DurableTestHost) -> None:
    response = await invoke("health", request("GET", "health"), host.client_binding)
    assert response.status_code == 200
    assert body_of(response) == {"status": "ok", "checks": {"process": "ok", "storage": "ok"}}


async def test_health_is_503_when_the_management_api_fails() -> None:
    from tests.clients.support import recording_rpc

    async with recording_rpc() as rpc:
        response = await invoke("health", request("GET", "health"), rpc.binding)
    assert response.status_code == 503
    assert body_of(response)["checks"]["storage"] == "unavailable"
