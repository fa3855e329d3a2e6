"""The booking view is the wire shape of booking-api.md and round-trips through JSON."""

import json
from datetime import UTC, date, datetime

from booking import BookingStatus, BookingView, TripStatus, TripView
from booking.activity_io import Leg, TravelBooking


def _travel():
    leg = {"number": "SB 1", "from": "BER", "to": "AMS"}
    return TravelBooking.model_validate(
        {
            "mode": "flight",
            "reference": "FL-1",
            "outbound": {**leg, "departure": "2027-06-02T23:10:00Z", "arrival": "2027-06-03T01:35:00Z"},
            "return": {**leg, "departure": "2027-06-05T16:40:00Z", "arrival": "2027-06-05T18:05:00Z"},
            "price": {"amount": "189.00", "currency": "EUR"},
        }
    )


def test_travel_gives_the_hotel_dates_by_arrival_and_departure():
    travel = _travel()
    assert isinstance(travel.outbound, Leg)
    assert (travel.check_in, travel.check_out) == (date(2027, 6, 3), date(2027, 6, 5))
    wire = travel.view().to_wire()
    assert wire["outbound"] == "2027-06-02T23:10:00Z"
    assert wire["return"] == "2027-06-05T16:40:00Z"


def test_view_is_camel_case_and_round_trips():
    view = BookingView(
        status=BookingStatus.BOOKING,
        trips=[TripView(conference_id="c", status=TripStatus.BOOKED, travel=_travel().view())],
    )
    wire = view.to_wire()
    assert wire["trips"][0]["conferenceId"] == "c"
    assert wire["payment"] == {"status": "NotStarted"}
    assert BookingView.from_wire(json.dumps(wire)) == view
    assert BookingStatus.EXPIRED.is_final and not BookingStatus.AWAITING_PAYMENT.is_final
    travel = view.trips[0].travel
    assert travel is not None
    assert datetime(2027, 6, 2, 23, 10, tzinfo=UTC) == travel.outbound
