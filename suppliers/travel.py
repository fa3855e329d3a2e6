"""Clients of the airline (`AIRLINE_API_URL`) and railway (`RAIL_API_URL`) APIs: one shape, two networks."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter

from suppliers.base import SupplierClient, undo_key
from suppliers.models import Offer, Rejected, RejectionCode, TravelBooking, Traveller


class _FlightSearch(BaseModel):
    flights: list[Offer]


class _JourneySearch(BaseModel):
    journeys: list[Offer]


class _TravelClient(SupplierClient):
    search_path: ClassVar[str]

    async def search(self, origin: str, destination: str, day: date) -> list[Offer]:
        """Services on one day (no booking); an empty list when there is no route."""
        params = {"origin": origin, "destination": destination, "date": day.isoformat()}
        if self.search_path == "flights":
            return (await self._call_ok("GET", "flights", TypeAdapter(_FlightSearch), params=params)).flights
        return (await self._call_ok("GET", "journeys", TypeAdapter(_JourneySearch), params=params)).journeys

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
        return await self._call(
            "POST",
            "bookings",
            TravelBooking,
            json=body,
            idempotency_key=idempotency_key,
            business=(RejectionCode.NO_ROUTE,),
        )

    async def get(self, reference: str) -> TravelBooking | Rejected:
        return await self._call(
            "GET",
            f"bookings/{quote(reference, safe='')}",
            TravelBooking,
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )

    async def undo(self, reference: str, *, idempotency_key: str | None = None) -> TravelBooking | Rejected:
        """Cancel a booking; idempotent. `Rejected(booking_not_found)` when the reference is unknown."""
        return await self._call(
            "DELETE",
            f"bookings/{quote(reference, safe='')}",
            TravelBooking,
            idempotency_key=idempotency_key or undo_key(reference),
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )


class AirlineClient(_TravelClient):
    supplier = "airline"
    search_path = "flights"


class RailClient(_TravelClient):
    supplier = "rail"
    search_path = "journeys"
