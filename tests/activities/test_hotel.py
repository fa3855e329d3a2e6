"""book_hotel / undo_hotel against the real sandbox."""

from __future__ import annotations

from datetime import date

from activities import ACTIVITIES
from booking import HotelOrder, HotelOutcome, Traveller, UndoOutcome
from booking.activity_io import Activity
from tests.activities.conftest import key, traveller

book_hotel = ACTIVITIES[Activity.BOOK_HOTEL]
undo_hotel = ACTIVITIES[Activity.UNDO_HOTEL]


def order(email: str) -> dict[str, object]:
    nights = HotelOrder(
        idempotency_key=key("hotel"),
        traveller=Traveller.model_validate(traveller(email)),
        city="Amsterdam",
        check_in=date(2027, 6, 2),
        check_out=date(2027, 6, 5),
    )
    return nights.to_wire()


async def test_reserves_the_nights_and_undoes(suppliers_up, email):
    outcome = HotelOutcome.model_validate(await book_hotel(order(email)))
    hotel = outcome.booking
    assert hotel is not None
    assert (str(hotel.check_in), str(hotel.check_out)) == ("2027-06-02", "2027-06-05")
    assert hotel.price.currency == "EUR" and hotel.price.amount > 0
    assert UndoOutcome.model_validate(await undo_hotel({"reference": hotel.reference})).found


async def test_sold_out_is_a_result(suppliers_up, email):
    outcome = HotelOutcome.model_validate(await book_hotel(order(email.replace("@", "+nohotel@"))))
    assert outcome.booking is None and outcome.failure is not None
    assert outcome.failure.code == "hotel_unavailable"
