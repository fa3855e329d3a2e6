"""What a traveller's front end sends to `POST /api/bookings` (booking-api.md), validated once here."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator

from booking.money import CurrencyCode
from booking.wire import WireModel

# Suppliers price everything in EUR (sandbox/README.md) and the app holds no exchange rates, so a
# booking in another currency could never be paid in the currency it asked for: refuse it up front.
SUPPORTED_CURRENCIES = frozenset({"EUR"})



def _printable(value: str) -> str:
    # Control and format characters (NUL, escapes, a right-to-left override) have no place in a name or
    # an address; they travel to suppliers, into tickets and logs, where they can disguise what is shown.
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValueError("must not contain control or formatting characters")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_printable)
]
# A deliberately plain check (no email-validator dependency): one @, a dot in the domain, no spaces.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    AfterValidator(_printable),
]
IataCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="IATA code, three capital letters")]
ConferenceId = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="catalog id"),
]


class _RequestModel(WireModel):
    # Unknown fields are a client mistake worth a 422, not something to drop silently.
    model_config = ConfigDict(extra="forbid")


class Traveller(_RequestModel):
    name: Name
    email: Email


class TripRequest(_RequestModel):
    conference_id: ConferenceId
    origin: IataCode
    hotel: bool = True


class BookingRequest(_RequestModel):
    traveller: Traveller
    trips: list[TripRequest] = Field(
        min_length=1, max_length=10, description="1 to 10 trips, each conference once per booking"
    )
    currency: CurrencyCode = "EUR"

    @field_validator("currency")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_CURRENCIES:
            raise ValueError(f"currency {value} is not supported; use one of {sorted(SUPPORTED_CURRENCIES)}")
        return value

    def repeated_conference(self) -> tuple[int, int] | None:
        """(index of the repeat, index of the first) for a conference booked twice, else None.

        Two trips to one conference would book two tickets, flights and hotels for one traveller: the
        edge refuses that (422) before anything is booked. Not a validator: bookings accepted before
        this rule are in orchestration histories and must still load.
        """
        first: dict[str, int] = {}
        for index, trip in enumerate(self.trips):
            if trip.conference_id in first:
                return index, first[trip.conference_id]
            first[trip.conference_id] = index
        return None

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of the request: the same body, however formatted, hashes alike.

        `Idempotency-Key` answers the same booking only for the same fingerprint (422 otherwise).
        """
        canonical = json.dumps(self.to_wire(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
