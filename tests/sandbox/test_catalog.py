"""The catalog facts that booking-api.md makes contract, and the determinism of prices and times."""

from __future__ import annotations

from datetime import date

from sandbox import catalog
from sandbox.tags import tags_of

CONTRACT = {
    "serverlessdays-amsterdam-2027": "AMS",
    "serverlessdays-hamburg-2027": "HAM",
    "europython-prague-2027": "PRG",
    "kubecon-barcelona-2027": "BCN",
    "ndc-oslo-2027": "OSL",
    "devoxx-brussels-2027": "BRU",
    "pycon-longbeach-2027": "LGB",
    "cloudsummit-seattle-2027": "SEA",
}
ORIGINS = ["BER", "LHR", "CDG", "MUC", "WAW", "MAD", "JFK", "SFO"]
EUROPE = ["AMS", "HAM", "PRG", "BCN", "OSL", "BRU"]


def test_catalog_holds_the_contract_conferences_in_2027_priced_in_eur():
    for conference_id, airport in CONTRACT.items():
        c = catalog.CONFERENCES[conference_id]
        assert c.airport == airport
        assert c.start_date.year == 2027 and c.start_date <= c.end_date
        assert c.price > 0
    assert len(catalog.CONFERENCES) >= 8
    assert catalog.CURRENCY == "EUR"


def test_flights_connect_every_origin_with_every_conference_airport_both_ways():
    for origin in ORIGINS:
        for airport in CONTRACT.values():
            assert catalog.has_route("flight", origin, airport)
            assert catalog.has_route("flight", airport, origin)


def test_trains_connect_the_european_conferences_with_the_european_origins_but_not_the_atlantic():
    for origin in ["BER", "LHR", "CDG", "MUC", "WAW", "MAD"]:
        for airport in EUROPE:
            assert catalog.has_route("train", origin, airport)
    assert not catalog.has_route("train", "JFK", "AMS")
    assert not catalog.has_route("train", "BER", "SEA")
    assert not catalog.has_route("train", "BER", "BER")
    assert not catalog.has_route("flight", "BER", "XXX")


def test_every_conference_city_has_hotels():
    for airport in CONTRACT.values():
        hotels = catalog.hotels_in(airport)
        assert len(hotels) >= 1
        assert hotels == sorted(hotels, key=lambda h: h.nightly)
        assert catalog.hotels_in(hotels[0].city.upper()) == hotels


def test_prices_and_timetables_are_deterministic_and_plausible():
    assert catalog.fare("flight", "BER", "AMS") == catalog.fare("flight", "AMS", "BER")
    assert catalog.fare("flight", "JFK", "AMS") > catalog.fare("flight", "BER", "AMS")
    leg = catalog.leg("flight", "BER", "AMS", date(2027, 6, 2), outbound=True)
    assert leg == catalog.leg("flight", "BER", "AMS", date(2027, 6, 2), outbound=True)
    assert leg.departure.date() == date(2027, 6, 2) and leg.arrival > leg.departure


def test_tags_are_the_plus_parts_of_the_local_part_case_insensitive():
    assert tags_of("ada+NoFlight+decline+run42@example.com") == {"noflight", "decline", "run42"}
    assert tags_of("ada@example.com") == frozenset()
    assert tags_of("ada+@example.com") == frozenset()
