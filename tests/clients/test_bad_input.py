"""Every bad input of the contract, through the registered functions with real func.HttpRequest objects.

The durable client points at a management API that records calls: a bad request must never reach it
(nothing is started, nothing is raised), so each test ends with `rpc.calls == []`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from clients.body import MAX_BODY_BYTES
from tests.clients.support import RecordingRpc, body_of, invoke, post_booking, request, signed

BOOKING_ID = "bk_" + "0" * 32
GOOD: dict[str, Any] = {
    "traveller": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "trips": [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER", "hotel": True}],
    "currency": "EUR",
}


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = body_of(response)
    assert problem["status"] == status
    assert problem["type"] and problem["title"] and problem["detail"]
    return problem


# --- POST /api/bookings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{", {"content-type": "application/json"}),
        (b"", {"content-type": "application/json"}),
        (b'{"traveller": NaN}', {"content-type": "application/json"}),
        (b'{"currency": "EUR", "currency": "USD"}', {"content-type": "application/json"}),
        (b"\xff\xfe", {"content-type": "application/json"}),
        (json.dumps(GOOD).encode(), {"content-type": "text/plain"}),
        (json.dumps(GOOD).encode(), {}),
        (json.dumps(GOOD).encode(), {"content-type": "application/x-www-form-urlencoded"}),
        (json.dumps(GOOD).encode(), {"content-type": "application/json; charset=latin-1"}),
    ],
    ids=["truncated", "empty", "nan", "duplicate-key", "not-utf8", "text-plain", "no-type", "form", "latin1"],
)
async def test_unreadable_bodies_are_400(rpc: RecordingRpc, body: bytes, headers: dict[str, str]) -> None:
    response = await post_booking(rpc, body, headers)
    assert_problem(response, 400)
    assert rpc.calls == []


async def test_a_body_over_64_kib_is_413_and_exactly_64_kib_is_read(rpc: RecordingRpc) -> None:
    too_big = b" " * (MAX_BODY_BYTES + 1)
    response = await post_booking(rpc, too_big, {"content-type": "application/json"})
    assert_problem(response, 413)
    # 64 KiB of valid JSON whitespace around an invalid document: read, then refused as 422, not 413.
    padded = b"{}" + b" " * (MAX_BODY_BYTES - 2)
    response = await post_booking(rpc, padded, {"content-type": "application/json"})
    assert_problem(response, 422)
    assert rpc.calls == []


async def test_every_invalid_field_is_listed(rpc: RecordingRpc, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bad = {
        "traveller": {"name": "", "email": "secret-person-at-example.com"},
        "trips": [
            {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "ber"},
            {"origin": "BER", "hotel": "maybe"},
        ],
        "currency": "euro",
        "coupon": "FREE",
    }
    response = await post_booking(rpc, bad)
    problem = assert_problem(response, 422)
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {
        "traveller.name",
        "traveller.email",
        "trips[0].origin",
        "trips[1].conferenceId",
        "trips[1].hotel",
        "currency",
        "coupon",
    }
    assert all(e["message"] for e in problem["errors"])
    assert "secret-person-at-example.com" not in caplog.text
    assert rpc.calls == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trips": []}, "trips"),
        ({"trips": GOOD["trips"] * 11}, "trips"),
        ({"traveller": None}, "traveller"),
        ({"currency": "USD"}, "currency"),
        ({"trips": [{"conferenceId": "x", "origin": "BERL"}]}, "trips[0].origin"),
    ],
)
async def test_invalid_shapes_are_422(rpc: RecordingRpc, change: dict[str, object], field: str) -> None:
    response = await invoke(
        "start_booking", request("POST", "bookings", body={**GOOD, **change}), rpc.binding
    )
    problem = assert_problem(response, 422)
    assert field in {e["field"] for e in problem["errors"]}
    assert rpc.calls == []


@pytest.mark.parametrize("document", [[GOOD], "booking", 42, None])
async def test_a_document_that_is_not_an_object_is_422(rpc: RecordingRpc, document: object) -> None:
    body = json.dumps(document).encode()
    response = await post_booking(rpc, body, {"content-type": "application/json"})
    assert_problem(response, 422)
    assert rpc.calls == []


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
async def test_a_malformed_idempotency_key_is_400(rpc: RecordingRpc, key: str) -> None:
    response = await post_booking(rpc, GOOD, {"Idempotency-Key": key})
    problem = assert_problem(response, 400)
    assert "Idempotency-Key" in problem["title"]
    assert rpc.calls == []


# --- GET /api/bookings/{id}, /events, /cancel ------------------------------------------------------------


@pytest.mark.parametrize(
    "booking_id", ["no-such-booking", "bk_123", "refund-pay_1", "bk_" + "0" * 32 + ":trip:0", ""]
)
@pytest.mark.parametrize(
    ("name", "method", "suffix"),
    [("get_booking", "GET", ""), ("booking_events", "GET", "/events"), ("cancel_booking", "POST", "/cancel")],
)
async def test_ids_that_are_not_booking_ids_are_404(
    rpc: RecordingRpc, booking_id: str, name: str, method: str, suffix: str
) -> None:
    req = request(method, f"bookings/{booking_id}{suffix}", route_params={"bookingId": booking_id})
    assert_problem(await invoke(name, req, rpc.binding), 404)
    assert rpc.calls == []


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{", {"content-type": "application/json"}, 400),
        (b'{"reason": "x"}', {"content-type": "text/plain"}, 400),
        (b" " * (MAX_BODY_BYTES + 1), {"content-type": "application/json"}, 413),
        (b'{"reason": "' + b"x" * 600 + b'"}', {"content-type": "application/json"}, 422),
    ],
)
async def test_a_bad_cancel_body_is_refused_before_the_booking_is_read(
    rpc: RecordingRpc, body: bytes, headers: dict[str, str], status: int
) -> None:
    req = request(
        "POST",
        f"bookings/{BOOKING_ID}/cancel",
        body=body,
        headers=headers,
        route_params={"bookingId": BOOKING_ID},
    )
    assert_problem(await invoke("cancel_booking", req, rpc.binding), status)
    assert rpc.calls == []


# --- GET /api/bookings?status=&limit= --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"status": "Shipped"}, {"status"}),
        ({"limit": "0"}, {"limit"}),
        ({"limit": "101"}, {"limit"}),
        ({"limit": "ten"}, {"limit"}),
        ({"limit": "-1"}, {"limit"}),
        ({"status": "nope", "limit": "1e3"}, {"status", "limit"}),
    ],
)
async def test_a_bad_list_query_is_400_with_every_parameter(
    rpc: RecordingRpc, params: dict[str, str], fields: set[str]
) -> None:
    response = await invoke("list_bookings", request("GET", "bookings", params=params), rpc.binding)
    problem = assert_problem(response, 400)
    assert {e["field"] for e in problem["errors"]} == fields
    assert rpc.calls == []


# --- POST /api/webhooks/payments -------------------------------------------------------------------------


def payment(**data: object) -> bytes:
    document = {
        "type": "payment.succeeded",
        "data": {"paymentId": "pay_1", "bookingId": BOOKING_ID, "amount": "10.00", "currency": "EUR", **data},
    }
    return json.dumps(document).encode()


def webhook(body: bytes, headers: dict[str, str]):
    return request("POST", "webhooks/payments", body=body, headers=headers)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: {},
        lambda h: {k: v for k, v in h.items() if k != "webhook-signature"},
        lambda h: {k: v for k, v in h.items() if k != "webhook-id"},
        lambda h: {k: v for k, v in h.items() if k != "webhook-timestamp"},
        lambda h: {**h, "webhook-signature": "v1," + "A" * 44},
        lambda h: {**h, "webhook-signature": "v1"},
        lambda h: {**h, "webhook-signature": "v1,a,b"},
        lambda h: {**h, "webhook-signature": "v1,@@@"},
        lambda h: {**h, "webhook-signature": "v1,A"},
        lambda h: {**h, "webhook-timestamp": "soon"},
        lambda h: {**h, "webhook-timestamp": "1e10"},
        lambda h: {**h, "webhook-timestamp": str(int(time.time()) - 301)},
        lambda h: {**h, "webhook-timestamp": str(int(time.time()) + 301)},
        lambda h: {**h, "webhook-id": "msg other"},
    ],
    ids=[
        "no-headers",
        "no-signature",
        "no-id",
        "no-timestamp",
        "forged",
        "no-comma",
        "three-parts",
        "not-base64",
        "bad-padding",
        "word-timestamp",
        "float-timestamp",
        "stale",
        "future",
        "id-with-space",
    ],
)
async def test_unsigned_or_badly_signed_webhooks_are_401(
    rpc: RecordingRpc, app_settings: dict[str, str], tamper
) -> None:
    body = payment()
    headers = tamper(signed(body, app_settings["PAYMENT_WEBHOOK_SECRET"]))
    problem = assert_problem(await invoke("payment_webhook", webhook(body, headers), rpc.binding), 401)
    assert "signature" in problem["title"].lower()
    assert rpc.calls == []


async def test_a_signature_with_another_secret_is_401(rpc: RecordingRpc) -> None:
    body = payment()
    other = "whsec_" + "QW5vdGhlclNlY3JldEZvclRlc3RpbmdPbmx5MTIzNA=="
    assert_problem(await invoke("payment_webhook", webhook(body, signed(body, other)), rpc.binding), 401)
    assert rpc.calls == []


async def test_a_changed_body_under_a_good_signature_is_401(
    rpc: RecordingRpc, app_settings: dict[str, str]
) -> None:
    headers = signed(payment(), app_settings["PAYMENT_WEBHOOK_SECRET"])
    tampered = payment(amount="0.01")
    assert_problem(await invoke("payment_webhook", webhook(tampered, headers), rpc.binding), 401)
    assert rpc.calls == []


async def test_an_oversized_webhook_is_413(rpc: RecordingRpc, app_settings: dict[str, str]) -> None:
    body = payment(reason="x" * MAX_BODY_BYTES)
    headers = signed(body, app_settings["PAYMENT_WEBHOOK_SECRET"])
    assert_problem(await invoke("payment_webhook", webhook(body, headers), rpc.binding), 413)
    assert rpc.calls == []


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"type": "payment.refunded", "data": {}}',
        b'{"type": "payment.succeeded"}',
        b'{"type": "payment.succeeded", "data": "x"}',
        json.dumps(
            {"type": "payment.succeeded", "data": {"paymentId": "pay_1", "amount": "1.00", "currency": "EUR"}}
        ).encode(),
        json.dumps(
            {
                "type": "payment.succeeded",
                "data": {"paymentId": "pay_1", "bookingId": BOOKING_ID, "amount": 1.5, "currency": "EUR"},
            }
        ).encode(),
        json.dumps(
            {
                "type": "payment.succeeded",
                "data": {"bookingId": BOOKING_ID, "amount": "1.00", "currency": "EUR"},
            }
        ).encode(),
        json.dumps(
            {
                "type": "payment.succeeded",
                "data": {"paymentId": "p", "bookingId": BOOKING_ID, "amount": "1.00", "currency": "euro"},
            }
        ).encode(),
    ],
    ids=[
        "truncated",
        "array",
        "unknown-type",
        "no-data",
        "data-not-object",
        "no-booking",
        "float-amount",
        "no-payment",
        "bad-currency",
    ],
)
async def test_a_good_signature_on_a_malformed_body_is_400(
    rpc: RecordingRpc, app_settings: dict[str, str], body: bytes
) -> None:
    headers = signed(body, app_settings["PAYMENT_WEBHOOK_SECRET"])
    assert_problem(await invoke("payment_webhook", webhook(body, headers), rpc.binding), 400)
    assert rpc.calls == []


async def test_a_payment_for_an_id_that_is_not_a_booking_is_404(
    rpc: RecordingRpc, app_settings: dict[str, str]
) -> None:
    body = payment(bookingId="someone-elses-booking")
    headers = signed(body, app_settings["PAYMENT_WEBHOOK_SECRET"])
    assert_problem(await invoke("payment_webhook", webhook(body, headers), rpc.binding), 404)
    assert rpc.calls == []


async def test_the_webhook_secret_is_never_logged(
    rpc: RecordingRpc, app_settings: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = payment()
    headers = {**signed(body, app_settings["PAYMENT_WEBHOOK_SECRET"]), "webhook-signature": "v1,AAAA"}
    await invoke("payment_webhook", webhook(body, headers), rpc.binding)
    secret = app_settings["PAYMENT_WEBHOOK_SECRET"]
    assert secret not in caplog.text and secret.removeprefix("whsec_") not in caplog.text
