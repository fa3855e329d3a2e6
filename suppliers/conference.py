"""Client of the conference ticketing API (`CONFERENCE_API_URL`)."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import TypeAdapter

from suppliers.base import SupplierClient, undo_key
from suppliers.models import Conference, Rejected, RejectionCode, Ticket, Traveller

_CONFERENCES = TypeAdapter(list[Conference])
_CONFERENCE = TypeAdapter(Conference)


class ConferenceClient(SupplierClient):
    supplier = "conference"

    async def list_conferences(self) -> list[Conference]:
        return await self._call_ok("GET", "conferences", _CONFERENCES)

    async def get_conference(self, conference_id: str) -> Conference | Rejected:
        """`Rejected(conference_not_found)` for an id not in the catalog."""
        return await self._call(
            "GET",
            f"conferences/{quote(conference_id, safe='')}",
            Conference,
            business=(RejectionCode.CONFERENCE_NOT_FOUND,),
        )

    async def book(
        self, conference_id: str, traveller: Traveller, *, idempotency_key: str
    ) -> Ticket | Rejected:
        """Book a ticket. `Rejected(conference_not_found)` for an unknown conference."""
        body = {"conferenceId": conference_id, "traveller": traveller.to_wire()}
        return await self._call(
            "POST",
            "tickets",
            Ticket,
            json=body,
            idempotency_key=idempotency_key,
            business=(RejectionCode.CONFERENCE_NOT_FOUND,),
        )

    async def get(self, reference: str) -> Ticket | Rejected:
        return await self._call(
            "GET", f"tickets/{quote(reference, safe='')}", Ticket, business=(RejectionCode.BOOKING_NOT_FOUND,)
        )

    async def undo(self, reference: str, *, idempotency_key: str | None = None) -> Ticket | Rejected:
        """Cancel a ticket; idempotent. `Rejected(booking_not_found)` when the reference is unknown."""
        return await self._call(
            "DELETE",
            f"tickets/{quote(reference, safe='')}",
            Ticket,
            idempotency_key=idempotency_key or undo_key(reference),
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )
