"""Bad input: every malformed request gets a precise 4xx problem, nothing is half-written, and the
service keeps serving (including under a bounded burst of garbage bodies).
"""

from __future__ import annotations

import json
import random

from tests.sandbox.helpers import assert_problem, email, key, post

WRITES = [
    "/conference/tickets",
    "/airline/bookings",
    "/rail/bookings",
    "/hotel/reservations",
    "/payment/payments",
    "/expense/reports",
]


async def test_body_must_be_a_json_object(client):
    h = {"Idempotency-Key": key()}
    assert_problem(
        await client.post(WRITES[0], content=b"{nope", headers={**h, "content-type": "application/json"}),
        400,
        "malformed_request",
    )
    assert_problem(
        await client.post(WRITES[0], content=b"[1,2]", headers={**h, "content-type": "application/json"}),
        400,
        "malformed_request",
    )
    assert_problem(
        await client.post(WRITES[0], content=b"", headers={**h, "content-type": "application/json"}),
        400,
        "malformed_request",
    )
    assert_problem(
        await client.post(
            WRITES[0], content=b"\xff\xfe\x00", headers={**h, "content-type": "application/json"}
        ),
        400,
        "malformed_request",
    )
    assert_problem(
        await client.post(
            WRITES[0],
            content=b"conferenceId=x",
            headers={**h, "content-type": "application/x-www-form-urlencoded"},
        ),
        415,
        "unsupported_media_type",
    )


async def test_idempotency_key_is_required_and_checked(client):
    body = {"conferenceId": "ndc-oslo-2027", "traveller": {"email": email()}}
    assert_problem(await client.post(WRITES[0], json=body), 400, "idempotency_key_required")
    assert_problem(
        await client.post(WRITES[0], json=body, headers={"Idempotency-Key": "has space"}),
        400,
        "invalid_idempotency_key",
    )
    assert_problem(
        await client.post(WRITES[0], json=body, headers={"Idempotency-Key": "x" * 256}),
        400,
        "invalid_idempotency_key",
    )
    assert (
        await client.post(WRITES[0], json=body, headers={"Idempotency-Key": "x" * 255})
    ).status_code == 201


async def test_every_invalid_field_is_listed(client):
    body = {
        "origin": "BERLIN",
        "destination": 7,
        "outboundDate": "tomorrow",
        "traveller": {"email": "nope"},
        "seat": "12A",
    }
    p = assert_problem(await post(client, "/airline/bookings", body), 422, "validation_error")
    assert {e["field"] for e in p["errors"]} == {
        "origin",
        "destination",
        "outboundDate",
        "returnDate",
        "traveller.email",
        "seat",
    }
    assert all(e["message"] for e in p["errors"])


async def test_body_over_the_limit_is_413(client):
    big = json.dumps({"conferenceId": "x" * (2 * 1024 * 1024), "traveller": {"email": email()}})
    r = await client.post(
        WRITES[0], content=big, headers={"Idempotency-Key": key(), "content-type": "application/json"}
    )
    assert_problem(r, 413, "payload_too_large")


async def test_unknown_routes_and_methods(client):
    assert_problem(await client.get("/airline/nowhere"), 404, "not_found")
    r = await client.put("/conference/tickets", json={})
    assert_problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]
    assert_problem(await client.get("/_sandbox/bookings"), 400, "malformed_request")


def garbage(rng: random.Random) -> object:
    atoms: list[object] = [None, True, 0, -1, 1e308, "", "x" * 300, "2027-13-45", "€", [], {}, "1234.567"]
    if rng.random() < 0.5:
        return rng.choice(atoms)
    return {
        rng.choice(
            [
                "traveller",
                "amount",
                "lines",
                "origin",
                "checkIn",
                "conferenceId",
                "city",
                "callbackUrl",
                "bookingId",
            ]
        ): rng.choice(atoms)
        for _ in range(rng.randint(0, 5))
    }


async def test_a_burst_of_garbage_gets_4xx_and_writes_nothing(client):
    rng = random.Random(7)
    who = email()
    for i in range(240):
        body = garbage(rng)
        if isinstance(body, dict) and rng.random() < 0.5:
            body["traveller"] = {"email": who}
        r = await client.post(WRITES[i % len(WRITES)], json=body, headers={"Idempotency-Key": key()})
        assert 400 <= r.status_code < 500, (WRITES[i % len(WRITES)], body, r.text)
        assert r.json()["code"]
    assert (await client.get("/_sandbox/health")).json() == {"status": "ok"}
    assert (await client.get("/_sandbox/bookings", params={"email": who})).json() == []


async def test_deeply_nested_and_non_standard_json_is_400(client):
    h = {"Idempotency-Key": key(), "content-type": "application/json"}
    deep = b"[" * 200_000 + b"]" * 200_000
    assert_problem(await client.post(WRITES[1], content=deep, headers=h), 400, "malformed_request")
    nan = b'{"errorRate": NaN}'
    assert_problem(
        await client.put("/_sandbox/faults/rail", content=nan, headers=h), 400, "malformed_request"
    )
    assert (await client.get("/_sandbox/health")).status_code == 200
