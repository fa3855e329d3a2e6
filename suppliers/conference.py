"""Client of the conference ticketing API (`CONFERENCE_API_URL`)."""

from __future__ import annotations

from pydantic import TypeAdapter

from suppliers.base import BookingsClient
from suppliers.models import Conference, Rejected, RejectionCode, Ticket, Traveller

_CONFERENCES = TypeAdapter(list[Conference])


class ConferenceClient(BookingsClient[Ticket]):
    """The catalog of conferences, and tickets (`get`, `undo`: see `BookingsClient`)."""

    supplier = "conference"
    collection = "tickets"
    booking = Ticket

    async def list_conferences(self) -> list[Conference]:
        return await self._call_ok("GET", "conferences", _CONFERENCES)

    async def get_conference(self, conference_id: str) -> Conference | Rejected:
        """`Rejected(conference_not_found)` for an id not in the catalog."""
        return await self._read("conferences", conference_id, Conference, RejectionCode.CONFERENCE_NOT_FOUND)

    async def book(
        self, conference_id: str, traveller: Traveller, *, idempotency_key: str
    ) -> Ticket | Rejected:
        """Book a ticket. `Rejected(conference_not_found)` for an unknown conference."""
        body = {"conferenceId": conference_id, "traveller": traveller.to_wire()}
        return await self._book(
            body, idempotency_key=idempotency_key, business=(RejectionCode.CONFERENCE_NOT_FOUND,)
        )
