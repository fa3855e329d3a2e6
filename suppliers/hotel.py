"""Client of the hotel API (`HOTEL_API_URL`)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter

from suppliers.base import SupplierClient, undo_key
from suppliers.models import HotelOffer, HotelReservation, Rejected, RejectionCode, Traveller


class _HotelSearch(BaseModel):
    hotels: list[HotelOffer]


class HotelClient(SupplierClient):
    supplier = "hotel"

    async def search(self, city: str) -> list[HotelOffer]:
        """Hotels of a city (name or airport code), cheapest first."""
        return (await self._call_ok("GET", "hotels", TypeAdapter(_HotelSearch), params={"city": city})).hotels

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
        return await self._call(
            "POST",
            "reservations",
            HotelReservation,
            json=body,
            idempotency_key=idempotency_key,
            business=(RejectionCode.SOLD_OUT,),
        )

    async def get(self, reference: str) -> HotelReservation | Rejected:
        return await self._call(
            "GET",
            f"reservations/{quote(reference, safe='')}",
            HotelReservation,
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )

    async def undo(
        self, reference: str, *, idempotency_key: str | None = None
    ) -> HotelReservation | Rejected:
        """Cancel a reservation; idempotent. `Rejected(booking_not_found)` when the reference is unknown."""
        return await self._call(
            "DELETE",
            f"reservations/{quote(reference, safe='')}",
            HotelReservation,
            idempotency_key=idempotency_key or undo_key(reference),
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )
