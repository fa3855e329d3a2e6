"""The supplier clients an activity works with, as one injected object.

In production they are built from the settings over the shared connection pool (`activities.http`);
a unit test builds them over an `httpx.MockTransport` instead, so an activity's mapping of answers to
outcomes and errors can be tested without a sandbox (the sandbox stays the contract test).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

import suppliers
from activities.http import supplier_http
from booking.settings import get_settings
from booking.trip_steps import SupplierStep

BookingClient = (
    suppliers.ConferenceClient | suppliers.AirlineClient | suppliers.RailClient | suppliers.HotelClient
)


@dataclass(frozen=True)
class SupplierClients:
    conference: suppliers.ConferenceClient
    airline: suppliers.AirlineClient
    rail: suppliers.RailClient
    hotel: suppliers.HotelClient
    payment: suppliers.PaymentClient
    expense: suppliers.ExpenseClient

    @classmethod
    def over(cls, http_for: Callable[[str], httpx.AsyncClient]) -> SupplierClients:
        """Every client over the HTTP client `http_for(api)` gives for its API (`conference`, `airline`,
        `rail`, `hotel`, `payment`, `expense`)."""
        return cls(
            conference=suppliers.ConferenceClient(http_for("conference")),
            airline=suppliers.AirlineClient(http_for("airline")),
            rail=suppliers.RailClient(http_for("rail")),
            hotel=suppliers.HotelClient(http_for("hotel")),
            payment=suppliers.PaymentClient(http_for("payment")),
            expense=suppliers.ExpenseClient(http_for("expense")),
        )

    @classmethod
    def from_settings(cls, patient: bool = False) -> SupplierClients:
        """The production clients: each API's URL from the settings, over the running loop's pool;
        `patient` for a call that must finish (a much longer read timeout)."""
        settings = get_settings()
        return cls.over(lambda api: supplier_http(str(getattr(settings, f"{api}_api_url")), patient=patient))

    def booking(self, step: SupplierStep[Any]) -> BookingClient:
        """The supplier that books (and undoes) a trip step."""
        clients: dict[str, BookingClient] = {
            "ticket": self.conference,
            "flight": self.airline,
            "train": self.rail,
            "hotel": self.hotel,
        }
        return clients[step.name]


# What an activity is given: the clients for a normal call, or (True) for a call that must finish.
ClientsFor = Callable[[bool], SupplierClients]
