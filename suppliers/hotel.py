"""Client of the hotel API (`HOTEL_API_URL`)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, TypeAdapter

from suppliers.base import BookingsClient
from suppliers.models import HotelOffer, HotelReservation, Rejected, RejectionCode, Traveller


class _HotelSearch(BaseModel):
    hotels: list[HotelOffer]


_SEARCH = TypeAdapter(_HotelSearch)


class HotelClient(BookingsClient[HotelReservation]):
    """Hotel search and reservations (`get`, `undo`: see `BookingsClient`)."""

    supplier = "hotel"
    collection = "reservations"
    booking = HotelReservation

    async def search(self, city: str) -> list[HotelOffer]:
        """Hotels of a city (name or airport code), cheapest first."""
        return (await self._call_ok("GET", "hotels", _SEARCH, params={"city": city})).hotels

    async def book(
        self, city: str, check_in: date, check_out: date, traveller: Traveller, *, idempotency_key: str
    ) -> HotelReservation | Rejected:
        """Reserve a room. `Rejected(sold_out)` when no room is to be had for those nights."""
        body = {
            "city": city,
            "checkIn": check_in.isoformat(),
            "checkOut": check_out.isoformat(),
            "traveller": traveller.to_wire(),
        }
        return await self._book(body, idempotency_key=idempotency_key, business=(RejectionCode.SOLD_OUT,))
