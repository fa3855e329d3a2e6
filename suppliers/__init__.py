"""Typed async clients for the supplier APIs (conference, airline, rail, hotel, payment, expense).

`Money`, `Leg`, `TravelMode` and `ProviderPaymentStatus` are the booking domain's own (one class each),
handed on here because the clients take and answer them.

Each client takes an injected `httpx.AsyncClient` whose base URL points at that API. Business
outcomes come back as results (`Rejected`); transient failures raise `SupplierUnavailable`.
"""

from booking.activity_io import Leg
from booking.money import Money
from booking.status import ProviderPaymentStatus, TravelMode
from suppliers.conference import ConferenceClient
from suppliers.errors import SupplierError, SupplierProtocolError, SupplierUnavailable
from suppliers.expense import ExpenseClient
from suppliers.hotel import HotelClient
from suppliers.models import (
    Conference,
    ExpenseLine,
    ExpenseReport,
    HotelRef,
    HotelReservation,
    Offer,
    Payment,
    Refund,
    Rejected,
    RejectionCode,
    SupplierBooking,
    SupplierBookingState,
    Ticket,
    TravelBooking,
    Traveller,
)
from suppliers.payment import PaymentClient
from suppliers.travel import AirlineClient, RailClient

__all__ = [
    "AirlineClient",
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
    "ProviderPaymentStatus",
    "RailClient",
    "Refund",
    "Rejected",
    "RejectionCode",
    "SupplierBooking",
    "SupplierBookingState",
    "SupplierError",
    "SupplierProtocolError",
    "SupplierUnavailable",
    "Ticket",
    "TravelBooking",
    "TravelMode",
    "Traveller",
]
