"""The `booking` orchestrator through devhost's harness: trips in parallel, all or nothing, the happy path."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from booking.errors import ConfigurationError
from booking.settings import get_settings
from devhost.history import EventType
from tests.orchestrators.booking_run import (
    AMSTERDAM_TOTAL,
    BOOKING_ID,
    await_payment,
    finish,
    pay,
    start,
)
from tests.orchestrators.world import booking_input


def test_happy_path_books_pays_and_reports_expenses(world):
    harness, suppliers = world
    start(harness)
    awaiting = await_payment(harness)

    assert awaiting["total"] == {"amount": f"{AMSTERDAM_TOTAL:.2f}", "currency": "EUR"}
    assert awaiting["payment"]["paymentId"] == "pay_1"
    assert awaiting["payment"]["checkoutUrl"].endswith("/pay_1")
    assert awaiting["payment"]["expiresAt"].startswith("2024-01-01T00:15:00")  # 900 s after the request
    assert awaiting["trips"][0]["status"] == "Booked"
    assert suppliers.payments[0]["key"] == f"{BOOKING_ID}:payment"

    pay(harness, suppliers)
    view = finish(harness)

    assert view.status == "Confirmed" and view.failure is None
    assert view.payment.status == "Succeeded"
    assert sorted(suppliers.kinds()) == ["flight", "hotel", "ticket"]
    (report,) = suppliers.expenses
    assert report["idempotencyKey"] == f"{BOOKING_ID}:expenses"
    assert sorted(line["category"] for line in report["lines"]) == ["flight", "hotel", "ticket"]
    assert suppliers.refunds == []


def test_three_trips_in_parallel_sum_to_one_payment(world):
    harness, suppliers = world
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
        {"conferenceId": "europython-prague-2027", "origin": "LHR"},
        {"conferenceId": "ndc-oslo-2027", "origin": "MAD", "hotel": False},
    ]
    start(harness, trips=trips)
    awaiting = await_payment(harness)

    parts = [
        p["price"]["amount"]
        for t in awaiting["trips"]
        for p in (t.get("ticket"), t.get("travel"), t.get("hotel"))
        if p
    ]
    total = sum(Decimal(a) for a in parts)
    assert Decimal(awaiting["total"]["amount"]) == total
    assert len(suppliers.kinds()) == 8
    # Each trip is its own sub-orchestration with a deterministic id.
    created = [
        e["InstanceId"]
        for e in harness.history(BOOKING_ID)
        if e["EventType"] == EventType.SubOrchestrationInstanceCreated
    ]
    assert created == [f"{BOOKING_ID}:trip:{n}" for n in range(3)]

    pay(harness, suppliers, amount=total)
    assert finish(harness).status == "Confirmed"


def test_one_of_three_trips_failing_undoes_the_other_two(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Oslo"}
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"},
        {"conferenceId": "europython-prague-2027", "origin": "LHR"},
        {"conferenceId": "ndc-oslo-2027", "origin": "MAD"},
    ]
    start(harness, trips=trips)
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    assert [t.status for t in view.trips] == ["Undone", "Undone", "Failed"]
    assert suppliers.active() == []
    assert len(suppliers.kinds("undone")) == 8
    assert suppliers.payments == []


def test_no_travel_fails_with_everything_undone_and_no_payment(world):
    harness, suppliers = world
    suppliers.no_flight_from = suppliers.no_train_from = {"BER"}
    start(harness)
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "no_travel_route"
    assert suppliers.active() == [] and suppliers.kinds("undone") == ["ticket"]
    assert suppliers.payments == [] and view.payment.status == "NotStarted"


def test_hotel_sold_out_fails_the_booking(world):
    harness, suppliers = world
    suppliers.sold_out_cities = {"Amsterdam"}
    start(harness)
    view = finish(harness)

    assert view.status == "Failed" and view.failure.code == "hotel_unavailable"
    assert suppliers.active() == []


def test_flaky_airline_still_confirms(world):
    harness, suppliers = world
    suppliers.flight_503s = 2
    start(harness)
    await_payment(harness)
    pay(harness, suppliers)

    view = finish(harness)
    assert view.status == "Confirmed" and view.trips[0].travel.mode == "flight"
    assert suppliers.calls["book_flight"] == 3


def test_no_flight_confirms_by_train(world):
    harness, suppliers = world
    suppliers.no_flight_from = {"BER"}
    start(harness)
    awaiting = await_payment(harness)
    pay(harness, suppliers, amount=Decimal(awaiting["total"]["amount"]))

    view = finish(harness)
    assert view.status == "Confirmed" and view.trips[0].travel.mode == "train"


def test_the_traveller_email_is_never_logged(world, caplog):
    harness, suppliers = world
    caplog.set_level("DEBUG")
    suppliers.sold_out_cities = {"Amsterdam"}
    harness.start_new(
        "booking", booking_input(booking_id=BOOKING_ID, email="secret.person@example.com"), BOOKING_ID
    )
    finish(harness)
    assert caplog.records
    assert "secret.person" not in caplog.text


def test_ten_trips_keep_the_custom_status_well_under_the_runtime_cap(world):
    harness, suppliers = world
    trips = [
        {"conferenceId": "serverlessdays-amsterdam-2027", "origin": origin}
        for origin in ("BER", "LHR", "CDG", "MUC", "WAW", "MAD", "JFK", "SFO", "BER", "LHR")
    ]
    start(harness, trips=trips)
    awaiting = await_payment(harness)

    text = json.dumps(awaiting, separators=(",", ":"))
    # The extension refuses a custom status over 16 KB counted in UTF-16: keep a quarter spare.
    assert len(text.encode("utf-16-le")) < 12 * 1024, len(text)


def test_orchestrators_read_no_settings(world, monkeypatch):
    # With no app settings at all, get_settings() would raise: the booking runs on its snapshot alone.
    for name in ("CONFERENCE_API_URL", "PAYMENT_WEBHOOK_SECRET", "PAYMENT_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    harness, suppliers = world
    start(harness, timeout_seconds=60)
    await_payment(harness)
    pay(harness, suppliers)
    assert finish(harness).status == "Confirmed"
    with pytest.raises(ConfigurationError):
        get_settings()
    get_settings.cache_clear()


def test_a_bug_after_the_trips_are_booked_still_undoes_them(world):
    # Not a supplier outcome but our own defect (here: a payment activity answering nonsense). The booking
    # must not end with the traveller's trips still booked at the suppliers: it compensates and says so.
    harness, suppliers = world
    harness.replace_activity("request_payment", lambda order: {"not": "a payment"})
    start(harness)

    view = finish(harness)

    assert view.status == "Failed"
    assert view.failure is not None and view.failure.code == "internal_error"
    assert suppliers.kinds() == []  # nothing left active
    assert sorted(suppliers.kinds("undone")) == ["flight", "hotel", "ticket"]
