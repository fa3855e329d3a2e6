"""Edge cases where the answer and the documents disagreed: each edge answers what the OpenAPI document
and docs/booking-api.md say, and the documents list every code the edge answers.

The durable client points at a management API that records calls: a refused request reaches nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from booking import BookingStatus
from clients.listing import RUNTIME_FOR
from clients.openapi import document
from tests.clients.support import ROOT, RecordingRpc, body_of, invoke, request, signed

BOOKING_ID = "bk_" + "0" * 32
GOOD: dict[str, Any] = {
    "traveller": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "trips": [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER", "hotel": True}],
    "currency": "EUR",
}
API_DOC = (ROOT / "docs" / "booking-api.md").read_text()


def problem_of(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = body_of(response)
    return problem


def documented(path: str, method: str) -> set[str]:
    return set(document()["paths"][path][method]["responses"])


def doc_section(heading: str) -> str:
    start = API_DOC.index(heading)
    end = API_DOC.find("\n### ", start + len(heading))
    return API_DOC[start : end if end > 0 else None]


# --- cancel: the body and every code it answers ------------------------------------------------------------


def cancel(body: bytes, headers: dict[str, str] | None = None):
    return request(
        "POST",
        f"bookings/{BOOKING_ID}/cancel",
        body=body,
        headers=headers or {"content-type": "application/json"},
        route_params={"bookingId": BOOKING_ID},
    )


@pytest.mark.parametrize("body", [b'{"reason": 5}', b'{"reason": "' + b"x" * 501 + b'"}', b'{"why": "late"}'])
async def test_a_cancel_body_with_bad_fields_is_a_documented_422(rpc: RecordingRpc, body: bytes) -> None:
    problem = problem_of(await invoke("cancel_booking", cancel(body), rpc.binding), 422)
    assert problem["errors"]
    assert rpc.calls == []
    assert {"202", "400", "404", "409", "413", "422", "503"} <= documented(
        "/api/bookings/{bookingId}/cancel", "post"
    )
    section = doc_section("### POST /api/bookings/{bookingId}/cancel")
    for code in ("202", "400", "404", "409", "413", "422", "503"):
        assert f"`{code}`" in section, code
    assert '"reason"' in section


# --- the list's status filter ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", " ", "Confirmed,Failed"])
async def test_an_empty_or_listed_status_filter_is_400(rpc: RecordingRpc, value: str) -> None:
    response = await invoke(
        "list_bookings", request("GET", "bookings", params={"status": value}), rpc.binding
    )
    problem = problem_of(response, 400)
    assert [e["field"] for e in problem["errors"]] == ["status"]
    assert rpc.calls == []
    section = doc_section("### GET /api/bookings?status")
    assert "`400`" in section and "`Confirmed`" in section


# --- Idempotency-Key ---------------------------------------------------------------------------------------


async def test_two_idempotency_key_headers_are_400(rpc: RecordingRpc) -> None:
    # The host joins repeated headers with a comma (StringValues.ToString()); no valid key holds one.
    req = request("POST", "bookings", body=GOOD, headers={"idempotency-key": "key-a,key-b"})
    problem = problem_of(await invoke("start_booking", req, rpc.binding), 400)
    assert "Idempotency-Key" in problem["detail"]
    assert rpc.calls == []
    assert "comma" in doc_section("### POST /api/bookings")


# --- webhook: a good signature on an unreadable body -------------------------------------------------------


async def test_a_signed_body_that_is_not_utf8_is_400(rpc: RecordingRpc, app_settings: dict[str, str]) -> None:
    body = b'{"type": "payment.succeeded", "data": {"bookingId": "\xff\xfe"}}'
    headers = signed(body, app_settings["PAYMENT_WEBHOOK_SECRET"], webhook_id="msg_not_utf8")
    response = await invoke(
        "payment_webhook", request("POST", "webhooks/payments", body=body, headers=headers), rpc.binding
    )
    problem_of(response, 400)
    assert rpc.calls == []


async def test_an_unsigned_body_that_is_not_utf8_is_still_401(rpc: RecordingRpc) -> None:
    body = b"\xff\xfe"
    headers = signed(body, "whsec_" + "QUFB" * 11, webhook_id="msg_forged")  # another key
    response = await invoke(
        "payment_webhook", request("POST", "webhooks/payments", body=body, headers=headers), rpc.binding
    )
    problem_of(response, 401)


# --- links: PUBLIC_BASE_URL, never the Host header ---------------------------------------------------------


async def test_links_are_built_from_public_base_url(
    rpc: RecordingRpc, monkeypatch: pytest.MonkeyPatch
) -> None:
    from booking.settings import get_settings

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://trips.example.com/")
    get_settings.cache_clear()
    rpc.reply = (202, {"id": BOOKING_ID})
    req = request("POST", "bookings", body=GOOD)
    # What the request says its URL is comes from the Host header: it must not matter.
    req = type(req)(
        "POST",
        "http://evil.example/api/bookings",
        headers=dict(req.headers),
        params={},
        route_params={},
        body=req.get_body(),
    )
    response = await invoke("start_booking", req, rpc.binding)
    assert response.status_code == 202, response.get_body()
    location = response.headers["Location"]
    assert location.startswith("https://trips.example.com/api/bookings/bk_"), location
    links = body_of(response)["links"]
    assert all(v.startswith("https://trips.example.com/api/bookings/") for v in links.values())
    assert "PUBLIC_BASE_URL" in doc_section("### POST /api/bookings")


# --- request names: documented camelCase only, one conference once ----------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {**GOOD, "trips": [{"conference_id": "serverlessdays-amsterdam-2027", "origin": "BER"}]},
            "trips[0].conference_id",
        ),
        ({**GOOD, "trips": [{**GOOD["trips"][0], "Origin": "BER"}]}, "trips[0].Origin"),
    ],
)
async def test_snake_case_or_unknown_names_are_422(
    rpc: RecordingRpc, body: dict[str, object], field: str
) -> None:
    problem = problem_of(
        await invoke("start_booking", request("POST", "bookings", body=body), rpc.binding), 422
    )
    assert field in {e["field"] for e in problem["errors"]}
    assert rpc.calls == []


async def test_the_same_conference_twice_is_422_naming_the_field(rpc: RecordingRpc) -> None:
    twice = {**GOOD, "trips": [GOOD["trips"][0], {**GOOD["trips"][0], "origin": "LHR"}]}
    problem = problem_of(
        await invoke("start_booking", request("POST", "bookings", body=twice), rpc.binding), 422
    )
    assert [e["field"] for e in problem["errors"]] == ["trips[1].conferenceId"]
    assert rpc.calls == []
    section = doc_section("### POST /api/bookings")
    assert "once" in section and "camelCase" in section
    description = json.dumps(document()["components"]["schemas"]["BookingRequest"])
    assert "once" in description


def test_the_docs_name_public_base_url_as_the_link_base() -> None:
    settings_table = API_DOC[API_DOC.index("## App settings") :]
    row = next(line for line in settings_table.splitlines() if line.startswith("| `PUBLIC_BASE_URL`"))
    assert "link" in row.lower()


def test_every_booking_status_can_be_listed() -> None:
    # A status without its runtime statuses made `GET /api/bookings?status=Cancelling` a 500 (the fuzz
    # found it when Cancelling was added).
    assert set(RUNTIME_FOR) == set(BookingStatus)
