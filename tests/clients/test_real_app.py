"""The edge with the real app: function_app.app served by devhost over an in-memory task hub, its real
orchestrators and activities booking at the real sandbox, and the sandbox's signed webhook coming back
through devhost's HTTP front into the webhook function.

One journey per branch the edge owns: a flaky airline paid by webhook (its retry on the timeline), and
a cancel while waiting for a payment that never comes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import function_app
from activities.http import close_pool
from booking.settings import get_settings
from devhost.http.testing import DurableTestHost, durable_host
from tests.clients.support import body_of, invoke, request

WAIT_SECONDS = 30.0
APIS = ("conference", "airline", "rail", "hotel", "payment", "expense")


@pytest.fixture
async def live(sandbox, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[DurableTestHost, Any]]:
    async with durable_host(function_app.app) as host:
        for api in APIS:
            monkeypatch.setenv(f"{api.upper()}_API_URL", f"{sandbox.url}/{api}")
        monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", sandbox.webhook_secret)
        monkeypatch.setenv("PUBLIC_BASE_URL", host.base_url)
        monkeypatch.setenv("SUPPLIER_RETRY_FIRST_INTERVAL_MS", "50")
        monkeypatch.setenv("SUPPLIER_RETRY_MAX_INTERVAL_MS", "200")
        monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "60")
        get_settings.cache_clear()
        try:
            yield host, sandbox
        finally:
            await close_pool()
            get_settings.cache_clear()


async def book(host: DurableTestHost, email: str) -> str:
    body = {
        "traveller": {"name": "Ada", "email": email},
        "trips": [{"conferenceId": "ndc-oslo-2027", "origin": "BER"}],
    }
    response = await invoke("start_booking", request("POST", "bookings", body=body), host.client_binding)
    assert response.status_code == 202, response.get_body()
    return str(body_of(response)["bookingId"])


async def wait_for(host: DurableTestHost, booking_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        req = request("GET", f"bookings/{booking_id}", route_params={"bookingId": booking_id})
        response = await invoke("get_booking", req, host.client_binding)
        last = body_of(response)
        if last.get("status") in statuses:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"{booking_id} never reached {statuses}: {last}")


async def test_a_flaky_booking_is_confirmed_by_the_sandboxs_webhook(live) -> None:
    host, sandbox = live
    email = f"ada+flaky+run{uuid.uuid4().hex[:8]}@example.com"
    booking_id = await book(host, email)

    booking = await wait_for(host, booking_id, "Confirmed", "Failed", "Expired")
    assert booking["status"] == "Confirmed", booking
    async with httpx.AsyncClient() as http:
        deliveries = (
            await http.get(
                f"{sandbox.url}/_sandbox/webhooks", params={"paymentId": booking["payment"]["paymentId"]}
            )
        ).json()
    # Confirmed by the webhook through devhost's front (a 2xx ended the delivery), not by reconciliation.
    assert [d["status"] for d in deliveries] == ["delivered"] and deliveries[0]["lastStatus"] == 200

    # Confirmed is shown before the last sweep and the expense report (orchestrators/README.md): read
    # the timeline once the orchestration itself has completed.
    req = request("GET", f"bookings/{booking_id}/events", route_params={"bookingId": booking_id})
    deadline = time.monotonic() + WAIT_SECONDS
    events = body_of(await invoke("booking_events", req, host.client_binding))
    while events[-1]["type"] != "completed" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        events = body_of(await invoke("booking_events", req, host.client_binding))
    steps = [(e["scope"], e["type"], e.get("step")) for e in events]
    assert ("trip[0]", "retry", "book_flight") in steps
    assert ("trip[0]", "supplier_call", "book_hotel") in steps
    assert any(e["type"] == "payment_event" and e["name"] == "PaymentSucceeded" for e in events)
    assert events[-1]["type"] == "completed" and events[-1]["outcome"] == "Confirmed"
    assert email not in str(events)


async def test_cancel_while_waiting_for_payment_undoes_the_trip(live) -> None:
    host, sandbox = live
    email = f"ada+nopay+run{uuid.uuid4().hex[:8]}@example.com"
    booking_id = await book(host, email)
    await wait_for(host, booking_id, "AwaitingPayment")

    req = request("POST", f"bookings/{booking_id}/cancel", route_params={"bookingId": booking_id})
    response = await invoke("cancel_booking", req, host.client_binding)
    assert response.status_code == 202
    ended = await wait_for(host, booking_id, "Cancelled")
    assert ended["failure"]["code"] == "cancelled_by_traveller"
    async with httpx.AsyncClient() as http:
        held = (await http.get(f"{sandbox.url}/_sandbox/bookings", params={"email": email})).json()
    assert held and all(b["status"] == "undone" for b in held)
    assert (await invoke("cancel_booking", req, host.client_binding)).status_code == 409
