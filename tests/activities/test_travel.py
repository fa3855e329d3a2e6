"""Flight and train activities against the real sandbox: outcomes, transient failures, Retry-After."""

from __future__ import annotations

import socket
from datetime import date, timedelta

import pytest

from activities import ACTIVITIES
from booking import TravelOrder, TravelOutcome, UndoOutcome
from booking.activity_io import Activity
from booking.errors import TransientSupplierError, outcome_unknown_from_failure, retry_after_from_failure
from booking.settings import get_settings
from tests.activities.conftest import key, traveller

book_flight = ACTIVITIES[Activity.BOOK_FLIGHT]
book_train = ACTIVITIES[Activity.BOOK_TRAIN]
undo_flight = ACTIVITIES[Activity.UNDO_FLIGHT]
undo_train = ACTIVITIES[Activity.UNDO_TRAIN]


def order(email: str, step: str = "flight", origin: str = "BER") -> dict[str, object]:
    return {
        "idempotencyKey": key(step),
        "traveller": traveller(email),
        "origin": origin,
        "destination": "AMS",
        "outboundDate": "2027-06-02",
        "returnDate": "2027-06-05",
    }


async def test_flight_books_and_gives_the_hotel_dates(suppliers_up, email):
    outcome = TravelOutcome.model_validate(await book_flight(order(email)))
    travel = outcome.booking
    assert travel is not None and travel.mode == "flight"
    assert travel.outbound.departure.date() == date(2027, 6, 2)
    assert travel.check_in >= date(2027, 6, 2) and travel.check_out == date(2027, 6, 5)

    assert UndoOutcome.model_validate(await undo_flight({"reference": travel.reference})).found


async def test_no_flight_route_is_a_result(suppliers_up, email):
    noflight = email.replace("@", "+noflight@")
    outcome = TravelOutcome.model_validate(await book_flight(order(noflight)))
    assert outcome.booking is None and outcome.failure is not None
    assert outcome.failure.code == "no_travel_route"


async def test_flaky_airline_raises_transient_twice_then_books(suppliers_up, email):
    flaky = order(email.replace("@", "+flaky@"))
    for _ in range(2):
        with pytest.raises(TransientSupplierError, match="503"):
            await book_flight(flaky)
    assert TravelOutcome.model_validate(await book_flight(flaky)).booking is not None


async def test_a_429_carries_its_retry_after_to_the_orchestrator(suppliers_up, email):
    response = await suppliers_up.put(
        "/_sandbox/faults/airline", json={"rateLimitEvery": 1, "retryAfterSeconds": 3}
    )
    assert response.status_code in (200, 204), response.text
    with pytest.raises(TransientSupplierError) as info:
        await book_flight(order(email))
    # The orchestrator sees only the failure message: the marker must survive in it.
    assert retry_after_from_failure(f"Activity function 'book_flight' failed:  {info.value}") == timedelta(
        seconds=3
    )


async def test_train_books_and_undoes(suppliers_up, email):
    outcome = TravelOutcome.model_validate(await book_train(order(email, "train")))
    train = outcome.booking
    assert train is not None and train.mode == "train"
    assert UndoOutcome.model_validate(await undo_train({"reference": train.reference})).found


async def test_no_train_across_the_atlantic(suppliers_up, email):
    outcome = TravelOutcome.model_validate(await book_train(order(email, "train", origin="JFK")))
    assert outcome.failure is not None and outcome.failure.code == "no_travel_route"


async def test_an_answer_that_comes_too_late_is_outcome_unknown_and_the_booking_is_real(
    suppliers_up, email, monkeypatch
):
    """The sandbox books, then holds the answer past the app's timeout: the failure message tells the
    orchestrator the outcome is unknown, and the same key gets that very booking back."""
    monkeypatch.setenv("SUPPLIER_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    flight = order(email)
    await suppliers_up.put("/_sandbox/faults/airline", json={"latencyAfterMs": 1500})
    with pytest.raises(TransientSupplierError) as info:
        await book_flight(flight)
    seen = f"Activity function 'book_flight' failed:  {info.value}"
    assert outcome_unknown_from_failure(seen) and "timed out" in seen
    hidden = (await suppliers_up.get("/_sandbox/bookings", params={"email": email})).json()
    assert [(b["supplier"], b["status"], b["idempotencyKey"]) for b in hidden] == [
        ("airline", "active", flight["idempotencyKey"])
    ]

    await suppliers_up.delete("/_sandbox/faults")
    reclaimed = TravelOutcome.model_validate(await book_flight(flight)).booking
    assert reclaimed is not None and reclaimed.reference == hidden[0]["reference"]


async def test_a_refused_connection_is_known_not_done(suppliers_up, email, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AIRLINE_API_URL", f"http://127.0.0.1:{port}/airline")
    get_settings.cache_clear()
    with pytest.raises(TransientSupplierError) as info:
        await book_flight(order(email))
    assert "ConnectError" in str(info.value)
    assert not outcome_unknown_from_failure(str(info.value))


async def test_a_patient_order_waits_longer_than_the_supplier_timeout_for_its_answer(
    suppliers_up, email, monkeypatch
):
    """A reclaim marks its order patient: a supplier slower than the normal timeout is still heard."""
    monkeypatch.setenv("SUPPLIER_TIMEOUT_SECONDS", "0.3")  # patient: ten times that
    get_settings.cache_clear()
    await suppliers_up.put("/_sandbox/faults/airline", json={"latencyMs": 1000})
    flight = order(email)
    with pytest.raises(TransientSupplierError):
        await book_flight(flight)
    booked = TravelOutcome.model_validate(await book_flight(flight | {"patient": True})).booking
    assert booked is not None
    undone = await undo_flight({"reference": booked.reference, "patient": True})
    assert UndoOutcome.model_validate(undone).found
    assert "patient" not in TravelOrder.from_wire(flight).to_wire()  # off the wire unless set
