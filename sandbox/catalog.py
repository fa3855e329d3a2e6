"""The sandbox's fixed world: conferences, places, flights, trains and hotels.

Prices and timetables are pure functions of the route (great-circle distance and a CRC of the
route name), so the same request always gets the same answer, across restarts and machines.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

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


_PLACES = [
    Place("BER", "Berlin", "DE", "EU", 52.37, 13.52),
    Place("LHR", "London", "GB", "EU", 51.47, -0.45),
    Place("CDG", "Paris", "FR", "EU", 49.01, 2.55),
    Place("MUC", "Munich", "DE", "EU", 48.35, 11.79),
    Place("WAW", "Warsaw", "PL", "EU", 52.17, 20.97),
    Place("MAD", "Madrid", "ES", "EU", 40.47, -3.56),
    Place("JFK", "New York", "US", "NA", 40.64, -73.78),
    Place("SFO", "San Francisco", "US", "NA", 37.62, -122.38),
    Place("AMS", "Amsterdam", "NL", "EU", 52.31, 4.76),
    Place("HAM", "Hamburg", "DE", "EU", 53.63, 9.99),
    Place("PRG", "Prague", "CZ", "EU", 50.10, 14.26),
    Place("BCN", "Barcelona", "ES", "EU", 41.30, 2.08),
    Place("OSL", "Oslo", "NO", "EU", 60.19, 11.10),
    Place("BRU", "Brussels", "BE", "EU", 50.90, 4.48),
    Place("LGB", "Long Beach", "US", "NA", 33.82, -118.15),
    Place("SEA", "Seattle", "US", "NA", 47.45, -122.31),
]
PLACES: dict[str, Place] = {p.code: p for p in _PLACES}
ORIGINS: tuple[str, ...] = ("BER", "LHR", "CDG", "MUC", "WAW", "MAD", "JFK", "SFO")

_CONFERENCES = [
    Conference(
        "serverlessdays-amsterdam-2027",
        "ServerlessDays Amsterdam 2027",
        "AMS",
        date(2027, 6, 3),
        date(2027, 6, 4),
        Decimal("249.00"),
    ),
    Conference(
        "serverlessdays-hamburg-2027",
        "ServerlessDays Hamburg 2027",
        "HAM",
        date(2027, 9, 16),
        date(2027, 9, 16),
        Decimal("199.00"),
    ),
    Conference(
        "europython-prague-2027",
        "EuroPython 2027",
        "PRG",
        date(2027, 7, 12),
        date(2027, 7, 18),
        Decimal("650.00"),
    ),
    Conference(
        "kubecon-barcelona-2027",
        "KubeCon + CloudNativeCon Europe 2027",
        "BCN",
        date(2027, 3, 23),
        date(2027, 3, 26),
        Decimal("1150.00"),
    ),
    Conference(
        "ndc-oslo-2027", "NDC Oslo 2027", "OSL", date(2027, 5, 24), date(2027, 5, 28), Decimal("1490.00")
    ),
    Conference(
        "devoxx-brussels-2027",
        "Devoxx Belgium 2027",
        "BRU",
        date(2027, 10, 4),
        date(2027, 10, 8),
        Decimal("895.00"),
    ),
    Conference(
        "pycon-longbeach-2027",
        "PyCon US 2027",
        "LGB",
        date(2027, 5, 12),
        date(2027, 5, 20),
        Decimal("450.00"),
    ),
    Conference(
        "cloudsummit-seattle-2027",
        "Cloud Summit Seattle 2027",
        "SEA",
        date(2027, 8, 10),
        date(2027, 8, 12),
        Decimal("799.00"),
    ),
]
CONFERENCES: dict[str, Conference] = {c.conference_id: c for c in _CONFERENCES}

_HOTELS = [
    Hotel("ams-canal-house", "Canal House Amsterdam", "AMS", Decimal("145.00")),
    Hotel("ams-zuidas", "Zuidas Business Hotel", "AMS", Decimal("189.00")),
    Hotel("ham-speicherstadt", "Speicherstadt Hotel", "HAM", Decimal("129.00")),
    Hotel("ham-alster", "Alster Residenz", "HAM", Decimal("165.00")),
    Hotel("prg-vltava", "Vltava Riverside", "PRG", Decimal("95.00")),
    Hotel("prg-old-town", "Old Town Suites", "PRG", Decimal("120.00")),
    Hotel("bcn-eixample", "Eixample Modern", "BCN", Decimal("155.00")),
    Hotel("bcn-barceloneta", "Barceloneta Beach Hotel", "BCN", Decimal("210.00")),
    Hotel("osl-fjord", "Fjord View Oslo", "OSL", Decimal("175.00")),
    Hotel("osl-opera", "Opera Quarter Hotel", "OSL", Decimal("199.00")),
    Hotel("bru-grand-place", "Grand Place Inn", "BRU", Decimal("135.00")),
    Hotel("bru-european-quarter", "European Quarter Hotel", "BRU", Decimal("150.00")),
    Hotel("lgb-harbor", "Harbor Lights Long Beach", "LGB", Decimal("179.00")),
    Hotel("lgb-shoreline", "Shoreline Village Hotel", "LGB", Decimal("215.00")),
    Hotel("sea-pike", "Pike Street Hotel", "SEA", Decimal("189.00")),
    Hotel("sea-lake-union", "Lake Union Lodge", "SEA", Decimal("229.00")),
]
HOTELS: tuple[Hotel, ...] = tuple(_HOTELS)


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
