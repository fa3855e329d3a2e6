"""Every client method against httpx.MockTransport: the request it sends (method, path, key, body)
and every outcome it maps (result model, Rejected business outcome, transient error)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest

from suppliers import (
    AirlineClient,
    ConferenceClient,
    ExpenseClient,
    ExpenseLine,
    HotelClient,
    Money,
    PaymentClient,
    ProviderPaymentStatus,
    RailClient,
    Rejected,
    RejectionCode,
    SupplierBookingState,
    SupplierProtocolError,
    SupplierUnavailable,
    Traveller,
    TravelMode,
)
from tests.suppliers import samples
from tests.suppliers.mock import Recorder, problem

ADA = Traveller(name="Ada", email="ada@example.com")


def ok(body, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


# ---- conference ---------------------------------------------------------------------------------


async def test_conference_catalog_and_ticket_lifecycle():
    rec = Recorder(
        ok([samples.CONFERENCE]),
        ok(samples.CONFERENCE),
        problem(404, "conference_not_found"),
        ok(samples.TICKET, 201),
        ok({**samples.TICKET, "status": "undone", "undoneAt": "2026-11-20T23:00:00Z"}),
        problem(404, "booking_not_found"),
        ok(samples.TICKET),
    )
    async with rec.client() as http:
        client = ConferenceClient(http)
        [conf] = await client.list_conferences()
        assert conf.airport == "AMS" and conf.start_date == date(2027, 6, 3)
        assert conf.price == Money(amount=Decimal("249.00"), currency="EUR")
        assert (await client.get_conference("serverlessdays-amsterdam-2027")) == conf
        missing = await client.get_conference("nope")
        assert isinstance(missing, Rejected) and missing.code is RejectionCode.CONFERENCE_NOT_FOUND
        ticket = await client.book("serverlessdays-amsterdam-2027", ADA, idempotency_key="k")
        assert not isinstance(ticket, Rejected)
        assert ticket.conference.city == "Amsterdam" and ticket.status is SupplierBookingState.ACTIVE
        undone = await client.undo(ticket.reference)
        assert not isinstance(undone, Rejected) and undone.status is SupplierBookingState.UNDONE
        assert rec.last.method == "DELETE" and rec.last.url.path == "/api/tickets/CT-4F9K2M7Q"
        assert rec.last.headers["Idempotency-Key"] == "undo:CT-4F9K2M7Q"
        unknown = await client.undo("CT-NOPE", idempotency_key="mine")
        assert isinstance(unknown, Rejected) and unknown.code is RejectionCode.BOOKING_NOT_FOUND
        assert rec.last.headers["Idempotency-Key"] == "mine"
        assert not isinstance(await client.get("CT-4F9K2M7Q"), Rejected)


# ---- airline and rail ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "body", "mode"),
    [(AirlineClient, samples.FLIGHT, TravelMode.FLIGHT), (RailClient, samples.TRAIN, TravelMode.TRAIN)],
)
async def test_travel_book_maps_booking_no_route_and_transient(cls, body, mode):
    rec = Recorder(
        ok(body, 201),
        problem(422, "no_route", "no flight from BER to AMS"),
        problem(503, "unavailable"),
        problem(429, "rate_limited", headers={"Retry-After": "2"}),
    )
    async with rec.client() as http:
        client = cls(http)

        async def book():
            return await client.book(
                "BER", "AMS", date(2027, 6, 2), date(2027, 6, 5), ADA, idempotency_key="k1"
            )

        booking = await book()
        assert not isinstance(booking, Rejected)
        assert booking.mode is mode and booking.price.amount == Decimal("189.00")
        assert booking.outbound.from_ == "BER" and booking.return_.to == "BER"
        assert booking.outbound.arrival == datetime.fromisoformat("2027-06-02T08:35:00+00:00")
        assert rec.last_json() == {
            "origin": "BER",
            "destination": "AMS",
            "outboundDate": "2027-06-02",
            "returnDate": "2027-06-05",
            "traveller": {"name": "Ada", "email": "ada@example.com"},
        }
        assert rec.last.url.path == "/api/bookings" and rec.last.headers["Idempotency-Key"] == "k1"
        no_route = await book()
        assert isinstance(no_route, Rejected) and no_route.code is RejectionCode.NO_ROUTE
        assert no_route.supplier == client.supplier and no_route.detail == "no flight from BER to AMS"
        with pytest.raises(SupplierUnavailable) as err:
            await book()
        assert err.value.status == 503 and err.value.retry_after is None
        with pytest.raises(SupplierUnavailable) as err:
            await book()
        assert err.value.status == 429 and err.value.retry_after == 2.0


async def test_travel_search_get_and_undo():
    offer = {"mode": "flight", "leg": samples.LEG_OUT, "price": {"amount": "189.00", "currency": "EUR"}}
    rec = Recorder(
        ok({"flights": [offer]}),
        ok({"journeys": []}),
        ok(samples.FLIGHT),
        problem(404, "booking_not_found"),
        ok({**samples.TRAIN, "status": "undone"}),
    )
    async with rec.client() as http:
        [found] = await AirlineClient(http).search("BER", "AMS", date(2027, 6, 2))
        assert found.leg.number == "SB 1234"
        assert dict(rec.last.url.params) == {"origin": "BER", "destination": "AMS", "date": "2027-06-02"}
        assert rec.last.url.path == "/api/flights"
        assert await RailClient(http).search("JFK", "AMS", date(2027, 6, 2)) == []
        assert rec.last.url.path == "/api/journeys"
        assert not isinstance(await AirlineClient(http).get("FL-7K3M9Q2A"), Rejected)
        assert isinstance(await AirlineClient(http).get("FL-NOPE"), Rejected)
        undone = await RailClient(http).undo("RL-2M8Q4Z7K")
        assert not isinstance(undone, Rejected) and undone.status is SupplierBookingState.UNDONE


# ---- hotel --------------------------------------------------------------------------------------


async def test_hotel_reservation_sold_out_and_undo():
    hotels = {
        "hotels": [
            {
                "hotelId": "x",
                "name": "X",
                "city": "Oslo",
                "nightlyPrice": {"amount": "175.00", "currency": "EUR"},
            }
        ]
    }
    rec = Recorder(
        ok(samples.RESERVATION, 201),
        problem(409, "sold_out"),
        ok(hotels),
        problem(404, "booking_not_found"),
        problem(500, "internal_error"),
    )
    async with rec.client() as http:
        client = HotelClient(http)
        res = await client.book("Amsterdam", date(2027, 6, 2), date(2027, 6, 5), ADA, idempotency_key="h1")
        assert not isinstance(res, Rejected)
        assert (
            res.nights == 3
            and res.price.amount == Decimal("435.00")
            and res.hotel.hotel_id == "ams-canal-house"
        )
        assert rec.last_json()["checkIn"] == "2027-06-02" and rec.last.url.path == "/api/reservations"
        sold_out = await client.book("Oslo", date(2027, 5, 23), date(2027, 5, 29), ADA, idempotency_key="h2")
        assert isinstance(sold_out, Rejected) and sold_out.code is RejectionCode.SOLD_OUT
        [hotel] = await client.search("Oslo")
        assert hotel.nightly_price.amount == Decimal("175.00")
        gone = await client.undo("HT-NOPE")
        assert isinstance(gone, Rejected) and gone.code is RejectionCode.BOOKING_NOT_FOUND
        with pytest.raises(SupplierUnavailable):
            await client.undo("HT-2M8Q4Z7K")


# ---- payment ------------------------------------------------------------------------------------


async def test_payment_create_get_list_refund_cancel():
    succeeded = {**samples.PAYMENT, "status": "succeeded"}
    rec = Recorder(
        ok(samples.PAYMENT, 201),
        ok(succeeded),
        problem(404, "payment_not_found"),
        ok([succeeded]),
        ok(samples.REFUND, 201),
        problem(409, "payment_not_refundable"),
        problem(422, "refund_exceeds_payment"),
        ok({**samples.PAYMENT, "status": "failed", "failureReason": "cancelled"}),
        problem(409, "payment_not_cancellable"),
    )
    async with rec.client() as http:
        client = PaymentClient(http)
        created = await client.create(
            Money(amount=Decimal("1234.5"), currency="EUR"),
            "b-1",
            "http://127.0.0.1:7071/api/webhooks/payments",
            ADA,
            idempotency_key="p1",
        )
        assert created.status is ProviderPaymentStatus.PENDING and created.money.amount == Decimal("1234.50")
        assert created.checkout_url.endswith("/pay_1")
        assert rec.last_json() == {
            "amount": "1234.50",
            "currency": "EUR",
            "bookingId": "b-1",
            "callbackUrl": "http://127.0.0.1:7071/api/webhooks/payments",
            "traveller": {"name": "Ada", "email": "ada@example.com"},
        }
        assert rec.last.headers["Idempotency-Key"] == "p1"
        got = await client.get("pay_1")
        assert not isinstance(got, Rejected) and got.status is ProviderPaymentStatus.SUCCEEDED
        missing = await client.get("pay_nope")
        assert isinstance(missing, Rejected) and missing.code is RejectionCode.PAYMENT_NOT_FOUND
        [listed] = await client.list_for_booking("b-1")
        assert listed.payment_id == "pay_1" and dict(rec.last.url.params) == {"bookingId": "b-1"}
        refund = await client.refund("pay_1", idempotency_key="r1", amount=Decimal("30"), reason="late")
        assert not isinstance(refund, Rejected) and refund.money == Money(
            amount=Decimal("30.00"), currency="EUR"
        )
        assert rec.last_json() == {"amount": "30.00", "reason": "late"}
        assert rec.last.url.path == "/api/payments/pay_1/refunds"
        not_refundable = await client.refund("pay_1", idempotency_key="r2")
        assert (
            isinstance(not_refundable, Rejected)
            and not_refundable.code is RejectionCode.PAYMENT_NOT_REFUNDABLE
        )
        assert rec.last_json() == {}
        too_much = await client.refund("pay_1", idempotency_key="r3", amount=Decimal("9999"))
        assert isinstance(too_much, Rejected) and too_much.code is RejectionCode.REFUND_EXCEEDS_PAYMENT
        cancelled = await client.cancel("pay_1")
        assert not isinstance(cancelled, Rejected) and cancelled.failure_reason == "cancelled"
        assert rec.last.headers["Idempotency-Key"] == "cancel:pay_1"
        late = await client.cancel("pay_1")
        assert isinstance(late, Rejected) and late.code is RejectionCode.PAYMENT_NOT_CANCELLABLE


async def test_payment_create_has_no_business_outcome_so_4xx_raises():
    rec = Recorder(problem(422, "validation_error"), problem(503, "unavailable"))
    async with rec.client() as http:
        client = PaymentClient(http)
        money = Money(amount=Decimal("1"), currency="EUR")
        with pytest.raises(SupplierProtocolError):
            await client.create(money, "b", "ftp://x", ADA, idempotency_key="p")
        with pytest.raises(SupplierUnavailable):
            await client.create(money, "b", "http://x", ADA, idempotency_key="p", description="trip")
        assert rec.last_json()["description"] == "trip"


# ---- expense ------------------------------------------------------------------------------------


async def test_expense_submit_get_undo():
    rec = Recorder(
        ok(samples.REPORT, 201),
        ok(samples.REPORT),
        problem(404, "booking_not_found"),
        problem(429, "rate_limited", headers={"Retry-After": "1"}),
    )
    async with rec.client() as http:
        client = ExpenseClient(http)
        line = ExpenseLine(
            category="ticket", description="ticket", reference="CT-1", amount=Decimal("249"), currency="EUR"
        )
        report = await client.submit("b-1", ADA, [line], idempotency_key="e1")
        assert report.total.amount == Decimal("249.00") and report.lines[0].reference == "CT-1"
        assert rec.last_json()["lines"] == [
            {
                "category": "ticket",
                "description": "ticket",
                "amount": "249.00",
                "currency": "EUR",
                "reference": "CT-1",
            }
        ]
        assert not isinstance(await client.get("EX-9Q2M4K7Z"), Rejected)
        assert isinstance(await client.undo("EX-NOPE"), Rejected)
        with pytest.raises(SupplierUnavailable) as err:
            await client.submit("b-1", ADA, [line], idempotency_key="e1")
        assert err.value.retry_after == 1.0
