"""Activities over injected clients (httpx.MockTransport): the order is parsed, the right supplier is
called with the order's key, its answer becomes the outcome, and its errors become the booking's own.
The sandbox tests beside this one are the contract; these pin the mapping without a server."""

from __future__ import annotations

import httpx
import pytest

from activities import activity_functions
from activities.clients import SupplierClients
from booking import TicketOutcome, UndoOutcome
from booking.activity_io import Activity
from booking.errors import SupplierProtocolError, TransientSupplierError, retry_after_from_failure
from tests.suppliers.mock import Recorder, problem
from tests.suppliers.samples import FLIGHT, RESERVATION, TICKET, TRAIN

TRAVELLER = {"name": "Ada Lovelace", "email": "ada@example.com"}
TICKET_ORDER = {"idempotencyKey": "b-1:trip:0:ticket", "traveller": TRAVELLER, "conferenceId": "sd-ams-2027"}


def over(recorder: Recorder, asked: list[bool] | None = None):
    """The activities over `recorder`; `asked` records the `patient` flag of every clients request."""

    def clients_for(patient: bool) -> SupplierClients:
        if asked is not None:
            asked.append(patient)
        return SupplierClients.over(lambda api: recorder.client(f"http://{api}.test/api"))

    return activity_functions(clients_for)


async def test_a_booked_ticket_is_the_outcome_and_the_key_goes_to_the_supplier():
    recorder = Recorder(httpx.Response(201, json=TICKET))
    outcome = TicketOutcome.from_wire(await over(recorder)[Activity.BOOK_TICKET](TICKET_ORDER))

    assert outcome.booking is not None and outcome.booking.reference == "CT-4F9K2M7Q"
    assert str(outcome.booking.price) == "249.00 EUR" and outcome.booking.conference.airport == "AMS"
    request = recorder.last
    assert (request.method, request.url.host, request.url.path) == ("POST", "conference.test", "/api/tickets")
    assert request.headers["Idempotency-Key"] == "b-1:trip:0:ticket"
    assert recorder.last_json()["conferenceId"] == "sd-ams-2027"


async def test_a_supplier_no_is_an_outcome_not_an_error():
    recorder = Recorder(problem(404, "conference_not_found"))
    outcome = TicketOutcome.from_wire(await over(recorder)[Activity.BOOK_TICKET](TICKET_ORDER))
    assert outcome.booking is None and outcome.failure is not None
    assert outcome.failure.code == "conference_not_found"


async def test_an_unavailable_supplier_raises_a_transient_error_carrying_retry_after():
    recorder = Recorder(problem(503, "unavailable", headers={"Retry-After": "7"}))
    with pytest.raises(TransientSupplierError) as raised:
        await over(recorder)[Activity.BOOK_TICKET](TICKET_ORDER)
    assert raised.value.supplier == "conference"
    retry_after = retry_after_from_failure(str(raised.value))
    assert retry_after is not None and retry_after.total_seconds() == 7


async def test_an_answer_outside_the_contract_is_a_protocol_error():
    recorder = Recorder(problem(422, "validation_error"))
    with pytest.raises(SupplierProtocolError):
        await over(recorder)[Activity.BOOK_TICKET](TICKET_ORDER)


async def test_a_patient_order_gets_the_patient_clients():
    asked: list[bool] = []
    functions = over(Recorder(httpx.Response(201, json=TICKET), httpx.Response(201, json=TICKET)), asked)
    await functions[Activity.BOOK_TICKET](TICKET_ORDER)
    await functions[Activity.BOOK_TICKET]({**TICKET_ORDER, "patient": True})
    assert asked == [False, True]


@pytest.mark.parametrize(
    ("activity", "booked", "host", "path"),
    [
        (Activity.UNDO_TICKET, TICKET, "conference.test", "/api/tickets/R-1"),
        (Activity.UNDO_FLIGHT, FLIGHT, "airline.test", "/api/bookings/R-1"),
        (Activity.UNDO_TRAIN, TRAIN, "rail.test", "/api/bookings/R-1"),
        (Activity.UNDO_HOTEL, RESERVATION, "hotel.test", "/api/reservations/R-1"),
    ],
)
async def test_each_undo_goes_to_the_supplier_that_booked_the_step(activity, booked, host, path):
    recorder = Recorder(
        httpx.Response(200, json={**booked, "status": "undone"}), problem(404, "booking_not_found")
    )
    undo = over(recorder)[activity]

    assert UndoOutcome.from_wire(await undo({"reference": "R-1"})) == UndoOutcome(reference="R-1", found=True)
    request = recorder.requests[0]
    assert (request.method, request.url.host, request.url.path) == ("DELETE", host, path)
    # A reference the supplier never knew: nothing to undo, and that is fine.
    assert UndoOutcome.from_wire(await undo({"reference": "R-1"})) == UndoOutcome(
        reference="R-1", found=False
    )
