"""book_ticket / undo_ticket against the real sandbox."""

from __future__ import annotations

from activities import ACTIVITIES
from booking import TicketOutcome, UndoOutcome
from booking.activity_io import Activity
from tests.activities.conftest import key, traveller

book_ticket = ACTIVITIES[Activity.BOOK_TICKET]
undo_ticket = ACTIVITIES[Activity.UNDO_TICKET]


async def test_books_once_per_key_and_undoes(suppliers_up, email):
    order = {"idempotencyKey": key("ticket"), "traveller": traveller(email), "conferenceId": "ndc-oslo-2027"}
    first = TicketOutcome.model_validate(await book_ticket(order))
    again = TicketOutcome.model_validate(await book_ticket(order))

    assert first.booking is not None and first.failure is None
    assert again.booking == first.booking  # the runtime may run an activity twice: one ticket
    assert first.booking.conference.airport == "OSL"
    assert str(first.booking.price) == "1490.00 EUR"
    bookings = (await suppliers_up.get("/_sandbox/bookings", params={"email": email})).json()
    assert [(b["supplier"], b["status"]) for b in bookings] == [("conference", "active")]

    undone = UndoOutcome.model_validate(await undo_ticket({"reference": first.booking.reference}))
    assert undone.found
    assert UndoOutcome.model_validate(await undo_ticket({"reference": first.booking.reference})).found
    bookings = (await suppliers_up.get("/_sandbox/bookings", params={"email": email})).json()
    assert [b["status"] for b in bookings] == ["undone"]


async def test_unknown_conference_is_a_result_not_an_error(suppliers_up, email):
    order = {"idempotencyKey": key("ticket"), "traveller": traveller(email), "conferenceId": "nope-2027"}
    outcome = TicketOutcome.model_validate(await book_ticket(order))
    assert outcome.booking is None and outcome.failure is not None
    assert outcome.failure.code == "conference_not_found"


async def test_undo_of_an_unknown_reference_is_fine(suppliers_up):
    outcome = UndoOutcome.model_validate(await undo_ticket({"reference": "CT-NOTHING"}))
    assert outcome.found is False
