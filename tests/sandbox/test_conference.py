"""Conference API: catalog, tickets, idempotency, undo, and the contract inspection listing."""

from __future__ import annotations

from tests.sandbox.helpers import assert_problem, email, key, post

CONF = "serverlessdays-amsterdam-2027"


async def test_catalog_lists_and_reads_conferences(client):
    listed = (await client.get("/conference/conferences")).json()
    assert {c["conferenceId"] for c in listed} >= {CONF, "cloudsummit-seattle-2027"}
    one = (await client.get(f"/conference/conferences/{CONF}")).json()
    assert one["airport"] == "AMS" and one["city"] == "Amsterdam"
    assert one["startDate"] == "2027-06-03" and one["price"] == {"amount": "249.00", "currency": "EUR"}
    assert_problem(await client.get("/conference/conferences/nope-2027"), 404, "conference_not_found")


async def test_ticket_booking_is_idempotent_per_key(client):
    who = {"name": "Ada", "email": email()}
    k = key()
    first = await post(client, "/conference/tickets", {"conferenceId": CONF, "traveller": who}, k)
    assert first.status_code == 201
    ticket = first.json()
    assert ticket["reference"].startswith("CT-") and ticket["status"] == "active"
    assert ticket["price"] == {"amount": "249.00", "currency": "EUR"}
    assert ticket["conference"]["airport"] == "AMS" and ticket["undoneAt"] is None

    again = await post(client, "/conference/tickets", {"conferenceId": CONF, "traveller": who}, k)
    assert again.status_code == 200 and again.json() == ticket

    other = await post(client, "/conference/tickets", {"conferenceId": "ndc-oslo-2027", "traveller": who}, k)
    assert_problem(other, 422, "idempotency_key_reused")

    fresh = await post(client, "/conference/tickets", {"conferenceId": CONF, "traveller": who})
    assert fresh.status_code == 201 and fresh.json()["reference"] != ticket["reference"]

    listed = (await client.get("/_sandbox/bookings", params={"email": who["email"].upper()})).json()
    assert listed == [
        {"supplier": "conference", "reference": ticket["reference"], "status": "active", "idempotencyKey": k},
        {
            "supplier": "conference",
            "reference": fresh.json()["reference"],
            "status": "active",
            "idempotencyKey": fresh.request.headers["Idempotency-Key"],
        },
    ]


async def test_unknown_conference_books_nothing(client):
    who = {"email": email()}
    r = await post(client, "/conference/tickets", {"conferenceId": "nope-2027", "traveller": who})
    assert_problem(r, 404, "conference_not_found")
    assert (await client.get("/_sandbox/bookings", params={"email": who["email"]})).json() == []


async def test_undo_is_idempotent_and_unknown_is_404(client):
    who = {"email": email()}
    ticket = (await post(client, "/conference/tickets", {"conferenceId": CONF, "traveller": who})).json()
    ref = ticket["reference"]
    first = await client.delete(f"/conference/tickets/{ref}")
    assert first.status_code == 200
    assert first.json()["status"] == "undone" and first.json()["undoneAt"]
    second = await client.delete(f"/conference/tickets/{ref}")
    assert second.status_code == 200 and second.json() == first.json()
    assert (await client.get(f"/conference/tickets/{ref}")).json()["status"] == "undone"
    assert_problem(await client.delete("/conference/tickets/CT-NOSUCH00"), 404, "booking_not_found")
    assert_problem(await client.get("/conference/tickets/CT-NOSUCH00"), 404, "booking_not_found")
    listed = (await client.get("/_sandbox/bookings", params={"email": who["email"]})).json()
    assert [b["status"] for b in listed] == ["undone"]


async def test_a_reference_belongs_to_its_own_api(client):
    who = {"email": email()}
    ticket = (await post(client, "/conference/tickets", {"conferenceId": CONF, "traveller": who})).json()
    assert_problem(
        await client.delete(f"/hotel/reservations/{ticket['reference']}"), 404, "booking_not_found"
    )
