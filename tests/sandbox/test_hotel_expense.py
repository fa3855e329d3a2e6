"""Hotel reservations (+nohotel) and expense reports: prices, idempotency, undo."""

from __future__ import annotations

from tests.sandbox.helpers import assert_problem, email, key, post


def stay(who: str, city: str = "Amsterdam", check_in: str = "2027-06-02", check_out: str = "2027-06-05"):
    return {"city": city, "checkIn": check_in, "checkOut": check_out, "traveller": {"email": who}}


async def test_reservation_costs_nights_times_the_nightly_price(client):
    r = await post(client, "/hotel/reservations", stay(email()))
    assert r.status_code == 201
    res = r.json()
    assert res["reference"].startswith("HT-") and res["nights"] == 3
    assert res["nightlyPrice"] == {"amount": "145.00", "currency": "EUR"}
    assert res["price"] == {"amount": "435.00", "currency": "EUR"}
    by_code = (await post(client, "/hotel/reservations", stay(email(), "ams"))).json()
    assert by_code["hotel"] == res["hotel"]
    hotels = (await client.get("/hotel/hotels", params={"city": "seattle"})).json()["hotels"]
    assert len(hotels) == 2 and hotels[0]["nightlyPrice"]["amount"] <= hotels[1]["nightlyPrice"]["amount"]


async def test_nohotel_is_sold_out_and_books_nothing(client):
    who = email("nohotel")
    assert_problem(await post(client, "/hotel/reservations", stay(who)), 409, "sold_out")
    assert_problem(await post(client, "/hotel/reservations", stay(email(), "Atlantis")), 409, "sold_out")
    assert (await client.get("/_sandbox/bookings", params={"email": who})).json() == []


async def test_reservation_idempotency_and_undo(client):
    who, k = email(), key()
    first = (await post(client, "/hotel/reservations", stay(who), k)).json()
    replay = await post(client, "/hotel/reservations", stay(who), k)
    assert replay.status_code == 200 and replay.json() == first
    assert_problem(
        await post(client, "/hotel/reservations", stay(who, check_out="2027-06-06"), k),
        422,
        "idempotency_key_reused",
    )
    assert (await client.delete(f"/hotel/reservations/{first['reference']}")).json()["status"] == "undone"
    assert (await client.delete(f"/hotel/reservations/{first['reference']}")).status_code == 200


async def test_reservation_dates_are_validated(client):
    p = assert_problem(
        await post(client, "/hotel/reservations", stay(email(), check_out="2027-06-02")),
        422,
        "validation_error",
    )
    assert p["errors"] == [{"field": "checkOut", "message": "must be after checkIn"}]
    p = assert_problem(
        await post(client, "/hotel/reservations", stay(email(), check_out="2027-08-02")),
        422,
        "validation_error",
    )
    assert p["errors"][0]["field"] == "checkOut"


def report(booking_id: str, *amounts: str, currency: str = "EUR"):
    return {
        "bookingId": booking_id,
        "traveller": {"email": email()},
        "lines": [
            {"category": "ticket", "description": f"line {i}", "amount": a, "currency": currency}
            for i, a in enumerate(amounts)
        ],
    }


async def test_expense_report_totals_its_lines_and_can_be_withdrawn(client):
    booking_id = key()
    body = report(booking_id, "249.00", "128.50", "435")
    k = key()
    r = await post(client, "/expense/reports", body, k)
    assert r.status_code == 201
    rep = r.json()
    assert rep["reference"].startswith("EX-") and rep["bookingId"] == booking_id
    assert rep["total"] == {"amount": "812.50", "currency": "EUR"}
    assert rep["lines"][2]["amount"] == "435.00"
    assert (await post(client, "/expense/reports", body, k)).json() == rep
    listed = (await client.get("/_sandbox/expenses", params={"bookingId": booking_id})).json()
    assert listed == [
        {"reference": rep["reference"], "bookingId": booking_id, "status": "active", "total": rep["total"]}
    ]
    assert (await client.delete(f"/expense/reports/{rep['reference']}")).json()["status"] == "undone"
    assert_problem(await client.delete("/expense/reports/EX-NOPE0000"), 404, "booking_not_found")


async def test_expense_report_rejects_mixed_currencies_and_bad_money(client):
    body = report(key(), "1.00", "2.00")
    body["lines"][1]["currency"] = "USD"
    p = assert_problem(await post(client, "/expense/reports", body), 422, "validation_error")
    assert p["errors"][0]["field"] == "lines[1].currency"
    body = report(key(), "1.001")
    p = assert_problem(await post(client, "/expense/reports", body), 422, "validation_error")
    assert p["errors"][0]["field"] == "lines[0].amount"
    body = report(key())
    p = assert_problem(await post(client, "/expense/reports", body), 422, "validation_error")
    assert p["errors"][0]["field"] == "lines"
