"""The sandbox's fixed world: conferences, places, flights, trains and hotels.

The places, conferences and hotels are data, in `catalog.toml` next to this module; this module
gives them types and derives everything else from them.

Prices and timetables are pure functions of the route (great-circle distance and a CRC of the
route name), so the same request always gets the same answer, across restarts and machines.
"""

from __future__ import annotations

import math
import tomllib
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

Mode = Literal["flight", "train"]
CURRENCY = "EUR"


@dataclass(frozen=True)
class Place:
    """A city as the airline (its airport) and the railway (its main station) know it."""

    code: str
    city: str
    country: str
    region: Literal["EU", "NA"]
    lat: float
    lon: float


@dataclass(frozen=True)
class Conference:
    conference_id: str
    name: str
    airport: str
    start_date: date
    end_date: date
    price: Decimal

    @property
    def place(self) -> Place:
        return PLACES[self.airport]


@dataclass(frozen=True)
class Hotel:
    hotel_id: str
    name: str
    airport: str
    nightly: Decimal

    @property
    def city(self) -> str:
        return PLACES[self.airport].city


@dataclass(frozen=True)
class Leg:
    """One direction of a journey."""

    number: str
    origin: str
    destination: str
    departure: datetime
    arrival: datetime


def _load() -> dict[str, Any]:
    with (Path(__file__).parent / "catalog.toml").open("rb") as f:
        return tomllib.load(f)


_DATA = _load()
PLACES: dict[str, Place] = {p["code"]: Place(**p) for p in _DATA["places"]}
ORIGINS: tuple[str, ...] = tuple(_DATA["origins"])
CONFERENCES: dict[str, Conference] = {
    c["id"]: Conference(c["id"], c["name"], c["airport"], c["start"], c["end"], Decimal(c["price"]))
    for c in _DATA["conferences"]
}
HOTELS: tuple[Hotel, ...] = tuple(
    Hotel(h["id"], h["name"], h["airport"], Decimal(h["nightly"])) for h in _DATA["hotels"]
)


def distance_km(a: str, b: str) -> float:
    """Great-circle distance between two places (haversine)."""
    pa, pb = PLACES[a], PLACES[b]
    lat1, lon1, lat2, lon2 = map(math.radians, (pa.lat, pa.lon, pb.lat, pb.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def has_route(mode: Mode, origin: str, destination: str) -> bool:
    """Flights join every pair of places; trains only stay on one side of the Atlantic."""
    if origin == destination or origin not in PLACES or destination not in PLACES:
        return False
    if mode == "flight":
        return True
    return PLACES[origin].region == PLACES[destination].region


def _crc(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode())


def fare(mode: Mode, origin: str, destination: str) -> Decimal:
    """Return-trip price in EUR, whole euros: a base plus a per-kilometre rate."""
    km = distance_km(origin, destination)
    base, per_km = (60.0, 0.11) if mode == "flight" else (20.0, 0.09)
    # Both directions cost the same, so sort the pair before hashing the small jitter.
    a, b = sorted((origin, destination))
    jitter = _crc(mode, a, b) % 20
    return Decimal(int(base + per_km * km) + jitter).quantize(Decimal("0.01"))


def leg(mode: Mode, origin: str, destination: str, day: date, *, outbound: bool) -> Leg:
    """The one scheduled service on a route on a given day (times in UTC)."""
    km = distance_km(origin, destination)
    crc = _crc(mode, origin, destination)
    if mode == "flight":
        hours = 0.6 + km / 800.0
        first_hour, prefix = (6 if outbound else 13), "SB"
    else:
        hours = 0.5 + km / 120.0
        first_hour, prefix = (5 if outbound else 9), "SR"
    minutes = int(round(hours * 60 / 5.0)) * 5
    departure = datetime.combine(day, time(first_hour + crc % 6, (crc // 6) % 12 * 5), tzinfo=UTC)
    number = f"{prefix} {100 + _crc(mode, *sorted((origin, destination))) % 900 * 2 + (0 if outbound else 1)}"
    return Leg(number, origin, destination, departure, departure + timedelta(minutes=minutes))


def hotels_in(city_or_airport: str) -> list[Hotel]:
    """Hotels of a city given by name (any case) or airport code, cheapest first."""
    key = city_or_airport.strip().lower()
    found = [h for h in HOTELS if h.airport.lower() == key or h.city.lower() == key]
    return sorted(found, key=lambda h: h.nightly)
