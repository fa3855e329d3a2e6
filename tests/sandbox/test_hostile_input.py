"""Hostile input to the sandbox's APIs (adversarial audit): ambiguous JSON, absurd numbers, unsafe URLs,
markup in ids, oversized control values. Every answer is a precise 4xx, nothing is written, and
nothing reflected into the checkout page is live markup.
"""

from __future__ import annotations

import pytest

from tests.sandbox.helpers import assert_problem, email, key, traveller

JSON = {"content-type": "application/json"}


def payment(**overrides: object) -> dict[str, object]:
    return {
        "amount": "10.00",
        "currency": "EUR",
        "bookingId": "b-hostile",
        "callbackUrl": "http://127.0.0.1:9/cb",
        "traveller": traveller("nopay"),
        **overrides,
    }


async def test_duplicate_keys_are_400_and_write_nothing(client):
    who = email()
    body = (
        '{"conferenceId": "serverlessdays-amsterdam-2027", "conferenceId": "ndc-oslo-2027",'
        f' "traveller": {{"name": "Ada", "email": "{who}"}}}}'
    )
    response = await client.post(
        "/conference/tickets", content=body, headers={**JSON, "Idempotency-Key": key()}
    )
    assert_problem(response, 400, "malformed_request")
    assert (await client.get("/_sandbox/bookings", params={"email": who})).json() == []
    nested = '{"errorRate": 0.5, "errorRate": 0}'
    assert_problem(
        await client.put("/_sandbox/faults/hotel", content=nested, headers=JSON), 400, "malformed_request"
    )
    assert (await client.get("/_sandbox/faults")).json().get("hotel", {}).get("errorRate", 0) == 0


@pytest.mark.parametrize(
    "amount",
    ["1e999999", "1E+999999", "9" * 400, "NaN", "sNaN", "Infinity", "-0.01", "0.001", 10, 10.5, "0x10"],
)
async def test_absurd_amounts_are_422(client, amount):
    response = await client.post(
        "/payment/payments", json=payment(amount=amount), headers={"Idempotency-Key": key()}
    )
    problem = assert_problem(response, 422, "validation_error")
    assert "amount" in problem["detail"]


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://127.0.0.1/", "http://[::1", "//no-scheme", "javascript:alert(1)", ""],
)
async def test_callback_urls_that_are_not_http_are_422(client, url):
    response = await client.post(
        "/payment/payments", json=payment(callbackUrl=url), headers={"Idempotency-Key": key()}
    )
    assert_problem(response, 422, "validation_error")


async def test_markup_in_a_booking_id_is_escaped_on_the_checkout_page(client):
    markup = "<script>alert(1)</script>"
    created = await client.post(
        "/payment/payments", json=payment(bookingId=markup), headers={"Idempotency-Key": key()}
    )
    assert created.status_code == 201, created.text
    page = await client.get(f"/payment/checkout/{created.json()['paymentId']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert markup not in page.text and "&lt;script&gt;" in page.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sandbox/webhook-mode", {"mode": "duplicate", "copies": 10**12}),
        ("/_sandbox/webhook-mode", {"mode": "late", "lateSeconds": 1e308}),
        ("/_sandbox/webhook-mode", {"mode": "sideways"}),
        ("/_sandbox/faults/airline", {"latencyMs": 1e308}),
        ("/_sandbox/faults/airline", {"errorRate": 2}),
        ("/_sandbox/faults/airline", {"errorEvery": -1}),
    ],
)
async def test_control_values_out_of_range_are_422_and_change_nothing(client, path, body):
    before = (await client.get(path.rsplit("/", 1)[0] if "faults" in path else path)).json()
    assert_problem(await client.put(path, json=body), 422, "validation_error")
    assert (await client.get(path.rsplit("/", 1)[0] if "faults" in path else path)).json() == before


@pytest.mark.parametrize("copies", [10**9, 0, -1])
async def test_a_manual_webhook_cannot_ask_for_unbounded_copies(client, copies):
    created = await client.post("/payment/payments", json=payment(), headers={"Idempotency-Key": key()})
    payment_id = created.json()["paymentId"]
    response = await client.post(
        f"/_sandbox/payments/{payment_id}/webhooks", json={"type": "payment.succeeded", "copies": copies}
    )
    assert_problem(response, 422, "validation_error")
    assert (await client.get("/_sandbox/webhooks", params={"paymentId": payment_id})).json() == []


@pytest.mark.parametrize("ident", ["%00", "..%2F..%2F_sandbox%2Ffaults", "%3Cscript%3E", "x" * 4000, "%ff"])
async def test_hostile_path_ids_are_404(client, ident):
    for path in (
        f"/payment/payments/{ident}",
        f"/conference/tickets/{ident}",
        f"/hotel/reservations/{ident}",
    ):
        response = await client.get(path)
        assert response.status_code == 404, (path[:80], response.text[:200])
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/_sandbox/health")).json() == {"status": "ok"}


async def test_a_stored_callback_url_that_cannot_be_parsed_fails_its_delivery_instead_of_spinning(tmp_path):
    """Rows written before the URL check (or by hand) still hold such URLs: httpx's InvalidURL is not an
    HTTPError, and used to kill the delivery task before the attempt was recorded, so every tick started
    it again — a busy loop writing a traceback per turn. Now it is an attempt that failed, with backoff."""
    import sqlite3

    import httpx

    from tests.sandbox.helpers import eventually
    from tests.support.sandbox import sandbox_process

    db = tmp_path / "sandbox.sqlite3"
    with sandbox_process(db_path=db, env={"SANDBOX_WEBHOOK_MAX_ATTEMPTS": "2"}) as sb:
        async with httpx.AsyncClient(base_url=sb.url, timeout=10) as http:
            created = await http.post("/payment/payments", json=payment(), headers={"Idempotency-Key": key()})
            payment_id = created.json()["paymentId"]
            with sqlite3.connect(db) as conn:
                conn.execute(
                    "UPDATE payments SET callback_url = ? WHERE payment_id = ?", ("http://[::1", payment_id)
                )
            sent = await http.post(
                f"/_sandbox/payments/{payment_id}/webhooks", json={"type": "payment.failed"}
            )
            assert sent.status_code == 202, sent.text

            async def failed() -> bool:
                rows = (await http.get("/_sandbox/webhooks", params={"paymentId": payment_id})).json()
                return bool(rows) and all(r["status"] == "failed" for r in rows)

            await eventually(failed)
            (row,) = (await http.get("/_sandbox/webhooks", params={"paymentId": payment_id})).json()
            assert row["attempts"] == 2 and "InvalidURL" in row["lastError"]
        output = "\n".join(sb.output)
    assert output.count("Traceback") == 0, output[-2000:]
