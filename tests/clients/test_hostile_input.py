"""Hostile input at the booking API's edge: the cases an adversarial audit found, pinned one by one.

Same harness as test_bad_input.py (registered functions, a management API that records calls): every
answer is a precise 4xx problem and nothing reaches the task hub (`rpc.calls == []`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.clients.support import RecordingRpc, invoke, request, signed
from tests.clients.test_bad_input import GOOD, assert_problem, payment, webhook

# --- GET /api/bookings?limit= : int() of a str.isdigit() value used to be a 500 ------------------------


@pytest.mark.parametrize(
    "limit",
    ["\u00b2", "9" * 5000, "\u0661", "\uff15", " 5", "5 ", "+5", "0x10", "1_0", "05\x00"],
    ids=[
        "superscript-two",
        "5000-digits",
        "arabic-indic-one",
        "fullwidth-five",
        "lead-space",
        "trail-space",
        "plus",
        "hex",
        "underscore",
        "nul",
    ],
)
async def test_a_limit_that_is_not_ascii_digits_is_400(rpc: RecordingRpc, limit: str) -> None:
    response = await invoke("list_bookings", request("GET", "bookings", params={"limit": limit}), rpc.binding)
    problem = assert_problem(response, 400)
    assert [e["field"] for e in problem["errors"]] == ["limit"]
    assert rpc.calls == []


@pytest.mark.parametrize("status", ["\x00", "Confirmed\r\nX-Injected: 1", "../Confirmed", "C" * 10_000])
async def test_a_hostile_status_filter_is_400(rpc: RecordingRpc, status: str) -> None:
    response = await invoke(
        "list_bookings", request("GET", "bookings", params={"status": status}), rpc.binding
    )
    assert [e["field"] for e in assert_problem(response, 400)["errors"]] == ["status"]
    assert rpc.calls == []


# --- POST /api/bookings: JSON types are part of the contract (strict validation) ------------------------


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    document = copy.deepcopy(GOOD)
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("trips", 0, "hotel"), "yes", "trips[0].hotel"),
        (("trips", 0, "hotel"), "true", "trips[0].hotel"),
        (("trips", 0, "hotel"), 1, "trips[0].hotel"),
        (("trips", 0, "hotel"), 0.0, "trips[0].hotel"),
        (("trips", 0, "hotel"), None, "trips[0].hotel"),
        (("trips", 0, "origin"), 123, "trips[0].origin"),
        (("trips", 0, "conferenceId"), 2027, "trips[0].conferenceId"),
        (("traveller", "name"), 42, "traveller.name"),
        (("traveller", "email"), ["ada@example.com"], "traveller.email"),
        (("currency",), 978, "currency"),
        (("trips",), {"0": GOOD["trips"][0]}, "trips"),
    ],
    ids=[
        "hotel-yes",
        "hotel-true-string",
        "hotel-one",
        "hotel-float",
        "hotel-null",
        "origin-number",
        "conference-number",
        "name-number",
        "email-list",
        "currency-number",
        "trips-object",
    ],
)
async def test_a_value_of_the_wrong_json_type_is_422(
    rpc: RecordingRpc, path: tuple[str | int, ...], value: object, field: str
) -> None:
    response = await invoke(
        "start_booking", request("POST", "bookings", body=_with(path, value)), rpc.binding
    )
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert rpc.calls == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("traveller", "name"), "Ada\x00Lovelace"),
        (("traveller", "email"), "ada@example.com\r\nBcc: eve@example.com"),
        (("trips", 0, "conferenceId"), "../../_sandbox/faults"),
        (("trips", 0, "conferenceId"), "x?y=1#z"),
        (("trips", 0, "conferenceId"), "serverlessdays-amsterdam-2027\n"),
        (("trips", 0, "origin"), "BE\u0280"),
        (("traveller", "name"), "A" * 60_000),
    ],
    ids=[
        "nul-in-name-is-fine-but-email",
        "crlf-email",
        "traversal-id",
        "query-id",
        "newline-id",
        "unicode-iata",
        "long-name",
    ],
)
async def test_injection_shaped_fields_never_start_anything(
    rpc: RecordingRpc, path: tuple[str | int, ...], value: str
) -> None:
    document = _with(path, value)
    if path == ("traveller", "name"):
        # A NUL in a name is only text; pair it with a bad email so the test still has a 422 to check.
        document["traveller"]["email"] = "not-an-email"
    response = await invoke("start_booking", request("POST", "bookings", body=document), rpc.binding)
    assert_problem(response, 422)
    assert rpc.calls == []


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "key with space", "caf\u00e9", "a\tb", "\x7f"],
    ids=["256", "space", "non-ascii", "tab", "del"],
)
async def test_an_unusable_idempotency_key_is_400_before_the_body_is_read(
    rpc: RecordingRpc, key: str
) -> None:
    headers = {"content-type": "application/json", "idempotency-key": key}
    response = await invoke(
        "start_booking", request("POST", "bookings", body=b"{", headers=headers), rpc.binding
    )
    assert assert_problem(response, 400)["type"].endswith("invalid-idempotency-key")
    assert rpc.calls == []


# --- 404s never echo what the caller put in the route --------------------------------------------------


@pytest.mark.parametrize(
    "booking_id",
    ["<script>alert(1)</script>", "\x00", "../../runtime/webhooks/durabletask/instances", "\u202e"],
)
@pytest.mark.parametrize("function", ["get_booking", "cancel_booking", "booking_events"])
async def test_a_hostile_booking_id_is_404_without_echo(
    rpc: RecordingRpc, function: str, booking_id: str
) -> None:
    method = "POST" if function == "cancel_booking" else "GET"
    req = request(method, "bookings/x", route_params={"bookingId": booking_id})
    problem = assert_problem(await invoke(function, req, rpc.binding), 404)
    assert booking_id not in json.dumps(problem, ensure_ascii=False)
    assert booking_id not in problem["detail"]
    assert rpc.calls == []


# --- POST /api/webhooks/payments: a signed but absurd amount is a 400, never a 500 ---------------------


@pytest.mark.parametrize(
    "amount",
    [
        "1e999999",
        "1E+999999",
        "1e2",
        "9" * 400,
        "+10.00",
        " 10.00",
        "10.00 ",
        "10.001",
        "-0.00",
        "0x10",
        "NaN",
        "sNaN",
        "Infinity",
        "1_000.00",
        "\u0661\u0660.00",
        "",
    ],
)
async def test_a_signed_payment_with_an_unreadable_amount_is_400(
    rpc: RecordingRpc, app_settings: dict[str, str], amount: str
) -> None:
    body = payment(amount=amount)
    headers = signed(body, app_settings["PAYMENT_WEBHOOK_SECRET"])
    response = await invoke("payment_webhook", webhook(body, headers), rpc.binding)
    problem = assert_problem(response, 400)
    assert "amount" in problem["detail"]
    assert rpc.calls == []


# --- nesting deep enough to exhaust the JSON parser, inside the 64 KiB cap -------------------------------

DEEP = b"[" * 30_000 + b"]" * 30_000  # 60,000 bytes


async def test_deep_nesting_under_the_size_cap_is_400_everywhere(
    rpc: RecordingRpc, app_settings: dict[str, str]
) -> None:
    json_type = {"content-type": "application/json"}
    start = await invoke(
        "start_booking", request("POST", "bookings", body=DEEP, headers=json_type), rpc.binding
    )
    assert "nested too deeply" in assert_problem(start, 400)["detail"]
    cancel = request(
        "POST",
        "bookings/x/cancel",
        body=DEEP,
        headers=json_type,
        route_params={"bookingId": "bk_" + "0" * 32},
    )
    assert_problem(await invoke("cancel_booking", cancel, rpc.binding), 400)
    headers = signed(DEEP, app_settings["PAYMENT_WEBHOOK_SECRET"])
    assert_problem(await invoke("payment_webhook", webhook(DEEP, headers), rpc.binding), 400)
    assert rpc.calls == []
