"""Clients of the airline (`AIRLINE_API_URL`) and railway (`RAIL_API_URL`) APIs: one shape, two networks."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, Field, TypeAdapter

from suppliers.base import BookingsClient
from suppliers.models import Offer, Rejected, RejectionCode, TravelBooking, Traveller


class _Search(BaseModel):
    offers: list[Offer]


class _FlightSearch(_Search):
    offers: list[Offer] = Field(alias="flights")


class _JourneySearch(_Search):
    offers: list[Offer] = Field(alias="journeys")


class _TravelClient(BookingsClient[TravelBooking]):
    collection = "bookings"
    booking = TravelBooking
    search_path: ClassVar[str]
    search_answer: ClassVar[type[_Search]]  # the answer names its list after the path

    async def search(self, origin: str, destination: str, day: date) -> list[Offer]:
        """Services on one day (no booking); an empty list when there is no route."""
        params = {"origin": origin, "destination": destination, "date": day.isoformat()}
        answer = await self._call_ok("GET", self.search_path, TypeAdapter(self.search_answer), params=params)
        return answer.offers

    async def book(
        self,
        origin: str,
        destination: str,
        outbound_date: date,
        return_date: date,
        traveller: Traveller,
        *,
        idempotency_key: str,
    ) -> TravelBooking | Rejected:
        """Book a return trip. `Rejected(no_route)` when there is none; 503/429 raise SupplierUnavailable."""
        body = {
            "origin": origin,
            "destination": destination,
            "outboundDate": outbound_date.isoformat(),
            "returnDate": return_date.isoformat(),
            "traveller": traveller.to_wire(),
        }
        return await self._book(body, idempotency_key=idempotency_key, business=(RejectionCode.NO_ROUTE,))


class AirlineClient(_TravelClient):
    """Flights: `GET flights` answers `{"flights": [...]}`."""

    supplier = "airline"
    search_path = "flights"
    search_answer = _FlightSearch


class RailClient(_TravelClient):
    """Trains: `GET journeys` answers `{"journeys": [...]}`."""

    supplier = "rail"
    search_path = "journeys"
    search_answer = _JourneySearch
