"""Smoke: every client against the real sandbox process over real HTTP — the sandbox's README and
the clients agree on paths, bodies, outcomes and transient errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
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
    SupplierUnavailable,
    Traveller,
)
from tests.sandbox.receiver import Receiver

OUT, BACK = date(2027, 6, 2), date(2027, 6, 5)


def traveller(*tags: str) -> Traveller:
    return Traveller(
        name="Ada", email=f"s{uuid.uuid4().hex[:10]}{''.join('+' + t for t in tags)}@example.com"
    )


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
async def api(sandbox) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    names = ["conference", "airline", "rail", "hotel", "payment", "expense", "_sandbox"]
    clients = {n: httpx.AsyncClient(base_url=f"{sandbox.url}/{n}") for n in names}
    try:
        yield clients
    finally:
        for c in clients.values():
            await c.aclose()


async def test_a_whole_trip_through_the_clients(api):
    ada = traveller()
    conference = ConferenceClient(api["conference"])
    catalog = await conference.list_conferences()
    assert len(catalog) >= 8
    ticket = await conference.book("serverlessdays-amsterdam-2027", ada, idempotency_key=key())
    assert not isinstance(ticket, Rejected) and ticket.price.amount == Decimal("249.00")
    k = key()
    flight = await AirlineClient(api["airline"]).book(
        "BER", ticket.conference.airport, OUT, BACK, ada, idempotency_key=k
    )
    assert not isinstance(flight, Rejected)
    again = await AirlineClient(api["airline"]).book("BER", "AMS", OUT, BACK, ada, idempotency_key=k)
    assert again == flight
    hotel = await HotelClient(api["hotel"]).book(
        ticket.conference.city,
        flight.outbound.arrival.date(),
        flight.return_.departure.date(),
        ada,
        idempotency_key=key(),
    )
    assert not isinstance(hotel, Rejected) and hotel.nights == 3
    lines = [
        ExpenseLine(
            category="ticket",
            description="ticket",
            reference=ticket.reference,
            amount=ticket.price.amount,
            currency="EUR",
        ),
        ExpenseLine(
            category="flight",
            description="flight",
            reference=flight.reference,
            amount=flight.price.amount,
            currency="EUR",
        ),
    ]
    report = await ExpenseClient(api["expense"]).submit("b-" + key(), ada, lines, idempotency_key=key())
    assert report.total.amount == ticket.price.amount + flight.price.amount
    for undo in (
        HotelClient(api["hotel"]).undo(hotel.reference),
        AirlineClient(api["airline"]).undo(flight.reference),
        ConferenceClient(api["conference"]).undo(ticket.reference),
        ExpenseClient(api["expense"]).undo(report.reference),
    ):
        result = await undo
        assert not isinstance(result, Rejected) and result.status is SupplierBookingState.UNDONE
    gone = await ConferenceClient(api["conference"]).undo("CT-NOPE0000")
    assert isinstance(gone, Rejected) and gone.code is RejectionCode.BOOKING_NOT_FOUND
    listed = (await api["_sandbox"].get("bookings", params={"email": ada.email})).json()
    assert {b["status"] for b in listed} == {"undone"} and len(listed) == 3


async def test_scenario_tags_map_to_results_and_errors(api):
    airline, rail, hotel = AirlineClient(api["airline"]), RailClient(api["rail"]), HotelClient(api["hotel"])
    flaky = traveller("flaky")
    for _ in range(2):
        with pytest.raises(SupplierUnavailable) as err:
            await airline.book("MAD", "BCN", OUT, BACK, flaky, idempotency_key=key())
        assert err.value.status == 503
    assert not isinstance(await airline.book("MAD", "BCN", OUT, BACK, flaky, idempotency_key=key()), Rejected)

    stuck = traveller("noflight", "notrain")
    no_flight = await airline.book("MAD", "BCN", OUT, BACK, stuck, idempotency_key=key())
    no_train = await rail.book("MAD", "BCN", OUT, BACK, stuck, idempotency_key=key())
    assert isinstance(no_flight, Rejected) and no_flight.code is RejectionCode.NO_ROUTE
    assert isinstance(no_train, Rejected) and no_train.code is RejectionCode.NO_ROUTE
    full = await hotel.book("Barcelona", OUT, BACK, traveller("nohotel"), idempotency_key=key())
    assert isinstance(full, Rejected) and full.code is RejectionCode.SOLD_OUT
    unknown = await ConferenceClient(api["conference"]).book("nope-2027", traveller(), idempotency_key=key())
    assert isinstance(unknown, Rejected) and unknown.code is RejectionCode.CONFERENCE_NOT_FOUND
    assert len(await rail.search("BER", "PRG", OUT)) == 1


async def test_rate_limit_retry_after_reaches_the_caller(api):
    await api["_sandbox"].put("faults/expense", json={"rateLimitEvery": 1, "retryAfterSeconds": 4})
    try:
        with pytest.raises(SupplierUnavailable) as err:
            await ExpenseClient(api["expense"]).get("EX-ANY")
        assert err.value.status == 429 and err.value.retry_after == 4.0
    finally:
        await api["_sandbox"].delete("faults")


async def test_payment_lifecycle_with_reconciliation_and_refund(api):
    async with Receiver() as receiver:
        payments = PaymentClient(api["payment"])
        booking_id = "b-" + key()
        created = await payments.create(
            Money(amount=Decimal("812.50"), currency="EUR"),
            booking_id,
            receiver.url,
            traveller(),
            idempotency_key=key(),
        )
        assert created.status is ProviderPaymentStatus.PENDING
        await receiver.wait_for(1)
        for _ in range(200):
            got = await payments.get(created.payment_id)
            assert not isinstance(got, Rejected)
            if got.status is ProviderPaymentStatus.SUCCEEDED:
                break
            await asyncio.sleep(0.02)
        assert got.status is ProviderPaymentStatus.SUCCEEDED
        [listed] = await payments.list_for_booking(booking_id)
        assert listed.payment_id == created.payment_id
        refund = await payments.refund(created.payment_id, idempotency_key=key(), reason="late_payment")
        assert not isinstance(refund, Rejected) and refund.amount == Decimal("812.50")
        again = await payments.refund(created.payment_id, idempotency_key=key())
        assert isinstance(again, Rejected) and again.code is RejectionCode.PAYMENT_NOT_REFUNDABLE
        refused = await payments.cancel(created.payment_id)
        assert isinstance(refused, Rejected) and refused.code is RejectionCode.PAYMENT_NOT_CANCELLABLE

        pending = await payments.create(
            Money(amount=Decimal("10"), currency="EUR"),
            booking_id,
            receiver.url,
            traveller("nopay"),
            idempotency_key=key(),
        )
        cancelled = await payments.cancel(pending.payment_id)
        assert not isinstance(cancelled, Rejected) and cancelled.status is ProviderPaymentStatus.CANCELLED
        repeated = await payments.cancel(pending.payment_id)  # idempotent
        assert not isinstance(repeated, Rejected) and repeated.status is ProviderPaymentStatus.CANCELLED
        missing = await payments.get("pay_NOPE")
        assert isinstance(missing, Rejected) and missing.code is RejectionCode.PAYMENT_NOT_FOUND
