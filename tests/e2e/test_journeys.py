"""One test per journey of a booking, against the real processes: Azurite, the sandbox and devhost.

The stack is started once for the module (tests/e2e/conftest.py) with a payment delay of 0, short
supplier retries and a short payment timeout, so each journey takes seconds, not minutes.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from tests.e2e.journey import Journey, trip, unique_email

pytestmark = pytest.mark.e2e


def test_single_trip_is_confirmed_with_ticket_travel_and_hotel(journey: Journey) -> None:
    email = unique_email()
    booking_id = journey.book_ok(email, [trip()])

    booking = journey.wait_final(booking_id)

    assert booking["status"] == "Confirmed", booking
    (only,) = booking["trips"]
    assert only["status"] == "Booked"
    assert only["ticket"]["reference"]
    assert only["travel"]["mode"] == "flight"
    assert only["hotel"]["reference"]
    assert booking["payment"]["status"] == "Succeeded"
    assert "retry-after" not in {k.lower() for k in journey.get(booking_id).headers}
    suppliers = {b["supplier"] for b in journey.supplier_bookings(email) if b["status"] == "active"}
    assert suppliers == {"conference", "airline", "hotel"}
    journey.assert_made_once(email)


def test_three_trips_in_parallel_add_up_to_the_total(journey: Journey) -> None:
    email = unique_email()
    trips = [
        trip("serverlessdays-amsterdam-2027", "BER"),
        trip("europython-prague-2027", "LHR"),
        trip("ndc-oslo-2027", "MAD", hotel=False),
    ]
    booking = journey.wait_final(journey.book_ok(email, trips))

    assert booking["status"] == "Confirmed", booking
    parts = Decimal(0)
    for t in booking["trips"]:
        for part in ("ticket", "travel", "hotel"):
            if t.get(part):
                parts += Decimal(t[part]["price"]["amount"])
    assert Decimal(booking["total"]["amount"]) == parts
    (payment,) = journey.payments(booking["bookingId"])
    assert Decimal(payment["amount"]) == parts and payment["status"] == "succeeded"
    assert booking["trips"][2].get("hotel") in (None, {})


def test_flaky_airline_is_retried_and_books_once(journey: Journey) -> None:
    email = unique_email("flaky")
    booking = journey.wait_final(journey.book_ok(email, [trip()]))

    assert booking["status"] == "Confirmed", booking
    assert booking["trips"][0]["travel"]["mode"] == "flight"
    airline = [b for b in journey.supplier_bookings(email) if b["supplier"] == "airline"]
    assert len(airline) == 1 and airline[0]["status"] == "active"
    events = journey.events(booking["bookingId"])
    assert any("retry" in json.dumps(e).lower() for e in events), events


def test_no_flight_travels_by_train(journey: Journey) -> None:
    email = unique_email("noflight")
    booking = journey.wait_final(journey.book_ok(email, [trip()]))

    assert booking["status"] == "Confirmed", booking
    assert booking["trips"][0]["travel"]["mode"] == "train"
    assert not [
        b for b in journey.supplier_bookings(email) if b["supplier"] == "airline" and b["status"] == "active"
    ]


def test_no_travel_at_all_fails_and_leaves_nothing_behind(journey: Journey) -> None:
    email = unique_email("noflight+notrain")
    booking = journey.wait_final(journey.book_ok(email, [trip()]))

    assert booking["status"] == "Failed", booking
    assert booking["failure"]["code"] == "no_travel_route"
    journey.assert_nothing_left(email)
    assert journey.payments(booking["bookingId"]) == []


def test_hotel_sold_out_fails_and_undoes_the_trip(journey: Journey) -> None:
    email = unique_email("nohotel")
    booking = journey.wait_final(journey.book_ok(email, [trip()]))

    assert booking["status"] == "Failed", booking
    assert booking["failure"]["code"] == "hotel_unavailable"
    # The failed trip shows what it had booked and that each part was undone.
    (failed_trip,) = booking["trips"]
    assert failed_trip["ticket"]["status"] == failed_trip["travel"]["status"] == "undone"
    journey.assert_nothing_left(email)


def test_declined_payment_fails_and_undoes_everything(journey: Journey) -> None:
    email = unique_email("decline")
    booking = journey.wait_final(journey.book_ok(email, [trip()]))

    assert booking["status"] == "Failed", booking
    assert booking["failure"]["code"] == "payment_failed"
    journey.assert_nothing_left(email)


def test_payment_never_arriving_expires_after_reconciliation(journey: Journey) -> None:
    email = unique_email("nopay")
    booking = journey.wait_final(journey.book_ok(email, [trip()]))

    assert booking["status"] == "Expired", booking
    assert booking["failure"]["code"] == "payment_timeout"
    journey.assert_nothing_left(email)
    steps = [e.get("step") for e in journey.events(booking["bookingId"])]
    assert "check_payment" in steps, steps  # asked the provider before giving up


def test_lost_webhook_is_found_by_reconciliation_and_confirmed(journey: Journey) -> None:
    # The provider takes the money but its webhook never arrives: the deadline's last check finds it paid.
    mode = f"{journey.sandbox_url}/_sandbox/webhook-mode"
    assert journey.http.put(mode, json={"mode": "drop"}).status_code == 200
    try:
        email = unique_email()
        booking = journey.wait_final(journey.book_ok(email, [trip()]))
    finally:
        journey.http.put(mode, json={"mode": "normal"}).raise_for_status()

    assert booking["status"] == "Confirmed", booking
    assert booking["payment"]["status"] == "Succeeded"
    assert [p["status"] for p in journey.payments(booking["bookingId"])] == ["succeeded"]


def test_webhook_signed_by_hand_confirms_a_nopay_booking(journey: Journey) -> None:
    email = unique_email("nopay")
    booking_id = journey.book_ok(email, [trip()])
    awaiting = journey.wait_for(booking_id, {"AwaitingPayment"})

    body = journey.payment_body("payment.succeeded", awaiting)
    response = journey.post_webhook(body, journey.signed_headers(body))

    assert response.status_code == 200, response.text
    assert journey.wait_final(booking_id)["status"] == "Confirmed"


def test_forged_stale_and_replayed_webhooks_change_nothing(journey: Journey) -> None:
    email = unique_email("nopay")
    booking_id = journey.book_ok(email, [trip()])
    awaiting = journey.wait_for(booking_id, {"AwaitingPayment"})
    failed = journey.payment_body("payment.failed", awaiting, reason="card_declined")

    forged = journey.signed_headers(failed)
    forged["webhook-signature"] = "v1," + "A" * 44
    assert journey.post_webhook(failed, forged).status_code == 401
    stale = journey.signed_headers(failed, at=time.time() - 600)
    assert journey.post_webhook(failed, stale).status_code == 401
    assert journey.post_webhook(failed, {"content-type": "application/json"}).status_code == 401
    assert journey.get(booking_id).json()["status"] == "AwaitingPayment"

    succeeded = journey.payment_body("payment.succeeded", awaiting)
    headers = journey.signed_headers(succeeded)
    assert journey.post_webhook(succeeded, headers).status_code == 200
    assert journey.wait_final(booking_id)["status"] == "Confirmed"
    assert journey.post_webhook(succeeded, headers).status_code == 200  # a redelivery: nothing happens
    confirmed = journey.get(booking_id).json()
    assert confirmed["status"] == "Confirmed"
    assert [p["status"] for p in journey.payments(booking_id)] != ["refunded"]


def test_expired_booking_cancels_its_payment_at_the_provider(journey: Journey) -> None:
    email = unique_email("nopay")
    booking_id = journey.book_ok(email, [trip()])
    awaiting = journey.wait_for(booking_id, {"AwaitingPayment"})
    assert journey.wait_final(booking_id)["status"] == "Expired"
    deadlines = [e for e in journey.events(booking_id) if e["type"] == "payment_deadline"]
    assert len(deadlines) == 1 and deadlines[0]["scope"] == "booking"

    # The provider learns that nobody may pay any more: the payment is cancelled there.
    payment_id = awaiting["payment"]["paymentId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and journey.get(booking_id).json()["payment"]["status"] != "Cancelled":
        time.sleep(0.2)
    assert journey.get(booking_id).json()["payment"]["status"] == "Cancelled"
    assert [p["status"] for p in journey.payments(booking_id)] == ["cancelled"]

    # A success reported anyway goes to the late-payment path and takes no money: nobody can pay a
    # cancelled payment. (A cancel that loses the race to the money ends in a refund: harness-tested.)
    late = journey.http.post(
        f"{journey.sandbox_url}/_sandbox/payments/{payment_id}/webhooks", json={"type": "payment.succeeded"}
    )
    assert late.status_code == 202, late.text
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and not journey.http.get(
            f"{journey.sandbox_url}/_sandbox/webhooks", params={"paymentId": payment_id}
        ).json()[-1]["status"]
        == "delivered"
    ):
        time.sleep(0.2)
    assert [p["status"] for p in journey.payments(booking_id)] == ["cancelled"]
    assert journey.get(booking_id).json()["status"] == "Expired"


def test_cancel_while_awaiting_payment_undoes_everything(journey: Journey) -> None:
    email = unique_email("nopay")
    booking_id = journey.book_ok(email, [trip(), trip("kubecon-barcelona-2027", "CDG")])
    journey.wait_for(booking_id, {"AwaitingPayment"})

    response = journey.cancel(booking_id)
    assert response.status_code == 202, response.text
    assert response.json() == {"bookingId": booking_id, "status": "Cancelling"}

    booking = journey.wait_final(booking_id)
    assert booking["status"] == "Cancelled"
    assert booking["failure"]["code"] == "cancelled_by_traveller"
    journey.assert_nothing_left(email)
    assert journey.cancel(booking_id).status_code == 409
    # The payment is stopped at the provider (a status of its own there, not `failed`): no money taken.
    assert journey.wait_for_payment(booking_id, "Cancelled")["payment"]["status"] == "Cancelled"
    assert [p["status"] for p in journey.payments(booking_id)] == ["cancelled"]


def test_money_that_beat_the_cancel_is_refunded_and_the_booking_says_so(journey: Journey) -> None:
    email = unique_email("nopay")
    booking_id = journey.book_ok(email, [trip()])
    payment_id = journey.wait_for(booking_id, {"AwaitingPayment"})["payment"]["paymentId"]
    # The traveller pays; the provider's webhook is still on its way when the cancel is accepted.
    paid = journey.http.post(
        f"{journey.sandbox_url}/_sandbox/payments/{payment_id}/webhooks",
        json={"type": "payment.succeeded", "delaySeconds": 3},
    )
    assert paid.status_code == 202, paid.text
    assert journey.cancel(booking_id).status_code == 202

    booking = journey.wait_final(booking_id)
    assert booking["status"] == "Cancelled"
    assert journey.wait_for_payment(booking_id, "Refunded")["payment"]["status"] == "Refunded"
    journey.assert_nothing_left(email)
    # The late webhook then reaches an ended booking: refunded under the same key, so only once.
    journey.wait_delivered(payment_id)
    payment = journey.http.get(f"{journey.sandbox_url}/payment/payments/{payment_id}").json()
    assert payment["status"] == "refunded" and payment["refundedAmount"] == payment["amount"]


def test_idempotency_key_replays_and_refuses_another_body(journey: Journey) -> None:
    email = unique_email()
    key = f"key-{time.time_ns()}"
    first = journey.book(email, [trip()], idempotency_key=key)
    again = journey.book(email, [trip()], idempotency_key=key)
    other = journey.book(email, [trip("ndc-oslo-2027")], idempotency_key=key)

    assert first.status_code == 202 and again.status_code == 202, (first.text, again.text)
    assert first.json()["bookingId"] == again.json()["bookingId"]
    assert other.status_code == 422, other.text
    journey.wait_final(first.json()["bookingId"])
    assert len([b for b in journey.supplier_bookings(email) if b["supplier"] == "conference"]) == 1


def test_invalid_body_lists_every_field_error(journey: Journey) -> None:
    body = {
        "traveller": {"name": "", "email": "not-an-email"},
        "trips": [{"conferenceId": "x", "origin": "ber"}],
        "currency": "euro",
    }
    response = journey.http.post(f"{journey.api_url}/api/bookings", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"traveller.name", "traveller.email", "trips[0].origin", "currency"} <= fields, fields

    malformed = journey.http.post(
        f"{journey.api_url}/api/bookings", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    huge = journey.http.post(
        f"{journey.api_url}/api/bookings",
        content=b" " * (65 * 1024),
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_unknown_booking_is_404_problem(journey: Journey) -> None:
    response = journey.get("no-such-booking")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert journey.cancel("no-such-booking").status_code == 404


def test_responses_never_carry_management_urls_or_keys(journey: Journey) -> None:
    response = journey.book(unique_email(), [trip()])
    booking = journey.get(response.json()["bookingId"])
    for text in (response.text, booking.text, json.dumps(dict(response.headers))):
        assert "runtime/webhooks" not in text and "durabletask" not in text and "code=" not in text


def test_a_cancel_while_booking_shows_cancelling_and_asks_for_no_payment(journey: Journey) -> None:
    # +down: the airline refuses every attempt, so the trip is in its flight retries for seconds.
    email = unique_email("down")
    booking_id = journey.book_ok(email, [trip()])
    journey.wait_for(booking_id, {"Booking"})

    response = journey.cancel(booking_id)
    assert response.status_code == 202, response.text
    shown = journey.wait_for(booking_id, {"Cancelling", "Cancelled"}, seconds=2)
    assert shown["status"] in ("Cancelling", "Cancelled")

    booking = journey.wait_final(booking_id)
    assert booking["status"] == "Cancelled" and booking["failure"]["code"] == "cancelled_by_traveller"
    assert booking["payment"]["status"] == "NotStarted"
    assert journey.payments(booking_id) == []  # the provider never heard of this booking
    journey.assert_nothing_left(email)
    # The trip was told too: it stopped its flight retries and never went on to the train or hotel.
    assert [(b["supplier"], b["status"]) for b in journey.supplier_bookings(email)] == [
        ("conference", "undone")
    ]
