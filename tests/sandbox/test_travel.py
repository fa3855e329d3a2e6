"""Airline and railway: booking, search, and the travel scenario tags (+flaky, +down, +noflight,
+notrain), including combinations and their independence from idempotency keys.
"""

from __future__ import annotations

from tests.sandbox.helpers import assert_problem, email, key, post


def trip(who: str, origin: str = "BER", destination: str = "AMS") -> dict[str, object]:
    return {
        "origin": origin,
        "destination": destination,
        "outboundDate": "2027-06-02",
        "returnDate": "2027-06-05",
        "traveller": {"name": "Ada", "email": who},
    }


async def test_flight_booking_has_times_price_and_undo(client):
    who = email()
    r = await post(client, "/airline/bookings", trip(who))
    assert r.status_code == 201
    b = r.json()
    assert b["reference"].startswith("FL-") and b["mode"] == "flight" and b["status"] == "active"
    assert b["outbound"]["from"] == "BER" and b["outbound"]["to"] == "AMS"
    assert (
        b["outbound"]["departure"].startswith("2027-06-02T")
        and b["outbound"]["arrival"] > b["outbound"]["departure"]
    )
    assert b["return"]["from"] == "AMS" and b["return"]["departure"].startswith("2027-06-05T")
    assert b["price"]["currency"] == "EUR" and float(b["price"]["amount"]) > 0
    undone = await client.delete(f"/airline/bookings/{b['reference']}")
    assert undone.json()["status"] == "undone"
    again = await post(client, "/airline/bookings", trip(email()))
    assert again.json()["price"] == b["price"], "same route, same price"


async def test_flaky_airline_answers_503_twice_then_books_whatever_the_keys(client):
    who = email("flaky", "run42")
    for _ in range(2):
        assert_problem(await post(client, "/airline/bookings", trip(who)), 503, "unavailable")
    k = key()
    booked = await post(client, "/airline/bookings", trip(who), k)
    assert booked.status_code == 201
    replay = await post(client, "/airline/bookings", trip(who), k)
    assert replay.status_code == 200 and replay.json() == booked.json()
    # Another trip of the same traveller is a new booking attempt: it is flaky again.
    assert_problem(await post(client, "/airline/bookings", trip(who, "LHR")), 503, "unavailable")


async def test_flaky_retry_with_the_same_key_books_on_the_third_attempt(client):
    who, k = email("flaky"), key()
    statuses = [(await post(client, "/airline/bookings", trip(who), k)).status_code for _ in range(4)]
    assert statuses == [503, 503, 201, 200]


async def test_down_airline_never_books_but_the_train_does(client):
    who = email("down")
    for _ in range(5):
        assert_problem(await post(client, "/airline/bookings", trip(who)), 503, "unavailable")
    train = await post(client, "/rail/bookings", trip(who))
    assert train.status_code == 201 and train.json()["mode"] == "train"
    assert train.json()["reference"].startswith("RL-")


async def test_noflight_is_a_permanent_no_route_and_the_train_books(client):
    who = email("noflight")
    r = await post(client, "/airline/bookings", trip(who))
    assert_problem(r, 422, "no_route")
    assert "Retry-After" not in r.headers
    assert (await post(client, "/rail/bookings", trip(who))).status_code == 201
    listed = (await client.get("/_sandbox/bookings", params={"email": who})).json()
    assert [b["supplier"] for b in listed] == ["rail"]


async def test_noflight_and_notrain_combine_to_no_travel(client):
    who = email("noflight", "notrain", "whatever")
    assert_problem(await post(client, "/airline/bookings", trip(who)), 422, "no_route")
    assert_problem(await post(client, "/rail/bookings", trip(who)), 422, "no_route")
    assert (await client.get("/_sandbox/bookings", params={"email": who})).json() == []


async def test_notrain_alone_leaves_flights_alone(client):
    who = email("notrain")
    assert (await post(client, "/airline/bookings", trip(who))).status_code == 201
    assert_problem(await post(client, "/rail/bookings", trip(who)), 422, "no_route")


async def test_no_train_crosses_the_atlantic(client):
    assert_problem(await post(client, "/rail/bookings", trip(email(), "JFK", "AMS")), 422, "no_route")
    assert_problem(await post(client, "/airline/bookings", trip(email(), "BER", "ZZZ")), 422, "no_route")


async def test_travel_validation(client):
    body = trip(email())
    body["returnDate"] = "2027-06-01"
    problem = assert_problem(await post(client, "/airline/bookings", body), 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["returnDate"]
    body = trip(email(), "ber", "AMS")
    problem = assert_problem(await post(client, "/rail/bookings", body), 422, "validation_error")
    assert problem["errors"][0]["field"] == "origin"
    same = assert_problem(
        await post(client, "/airline/bookings", trip(email(), "AMS", "AMS")), 422, "validation_error"
    )
    assert same["errors"][0]["field"] == "destination"


async def test_search_returns_offers_without_booking(client):
    flights = (
        await client.get(
            "/airline/flights", params={"origin": "SFO", "destination": "SEA", "date": "2027-08-09"}
        )
    ).json()["flights"]
    assert len(flights) == 1 and flights[0]["leg"]["departure"].startswith("2027-08-09")
    journeys = (
        await client.get(
            "/rail/journeys", params={"origin": "JFK", "destination": "AMS", "date": "2027-08-09"}
        )
    ).json()["journeys"]
    assert journeys == []
    assert_problem(await client.get("/rail/journeys", params={"origin": "JFK"}), 400, "malformed_request")
    assert_problem(
        await client.get(
            "/airline/flights", params={"origin": "JFK", "destination": "AMS", "date": "2027-02-30"}
        ),
        400,
        "malformed_request",
    )
