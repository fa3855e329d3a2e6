"""Typed async clients for the supplier APIs (conference, airline, rail, hotel, payment, expense).

Each client takes an injected `httpx.AsyncClient` whose base URL points at that API. Business
outcomes come back as results (`Rejected`); transient failures raise `SupplierUnavailable`.
"""

from suppliers.conference import ConferenceClient
from suppliers.errors import SupplierError, SupplierProtocolError, SupplierUnavailable
from suppliers.expense import ExpenseClient
from suppliers.hotel import HotelClient
from suppliers.models import (
    BookingStatus,
    Conference,
    ExpenseLine,
    ExpenseReport,
    HotelRef,
    HotelReservation,
    Leg,
    Money,
    Offer,
    Payment,
    PaymentStatus,
    Refund,
    Rejected,
    RejectionCode,
    Ticket,
    TravelBooking,
    Traveller,
    TravelMode,
)
from suppliers.payment import PaymentClient
from suppliers.travel import AirlineClient, RailClient

__all__ = [
    "AirlineClient",
    "BookingStatus",
    "Conference",
    "ConferenceClient",
    "ExpenseClient",
    "ExpenseLine",
    "ExpenseReport",
    "HotelClient",
    "HotelRef",
    "HotelReservation",
    "Leg",
    "Money",
    "Offer",
    "Payment",
    "PaymentClient",
    "PaymentStatus",
    "RailClient",
    "Refund",
    "Rejected",
    "RejectionCode",
    "SupplierError",
    "SupplierProtocolError",
    "SupplierUnavailable",
    "Ticket",
    "TravelBooking",
    "TravelMode",
    "Traveller",
]
