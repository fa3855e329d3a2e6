"""Statuses and failure codes, defined once: as the traveller sees them (booking-api.md), plus the
payment provider's own status of a payment (`ProviderPaymentStatus`, shared with suppliers/)."""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    PENDING = "Pending"
    BOOKING = "Booking"
    AWAITING_PAYMENT = "AwaitingPayment"
    CANCELLING = "Cancelling"  # a cancel was accepted while trips were booking: no payment will be asked
    CONFIRMED = "Confirmed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {BookingStatus.CONFIRMED, BookingStatus.FAILED, BookingStatus.CANCELLED, BookingStatus.EXPIRED}
)


class TripStatus(StrEnum):
    BOOKING = "Booking"
    BOOKED = "Booked"
    FAILED = "Failed"
    UNDONE = "Undone"


class ItemStatus(StrEnum):
    """One ticket, travel or hotel of a trip, at its supplier."""

    BOOKED = "booked"
    UNDONE = "undone"
    UNDO_FAILED = "undo_failed"  # every undo attempt failed: still active at the supplier, for an operator


class PaymentStatus(StrEnum):
    NOT_STARTED = "NotStarted"
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"  # stopped at the provider when the booking ended without it
    REFUNDED = "Refunded"


class ProviderPaymentStatus(StrEnum):
    """A payment at the provider, as its API spells it (the supplier client reads it, activities pass it)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped at the booking's request: it can no longer be paid
    REFUNDED = "refunded"


class TravelMode(StrEnum):
    FLIGHT = "flight"
    TRAIN = "train"


class FailureCode(StrEnum):
    """Why a booking did not end Confirmed (the `failure.code` of the booking view)."""

    CONFERENCE_NOT_FOUND = "conference_not_found"
    NO_TRAVEL_ROUTE = "no_travel_route"
    HOTEL_UNAVAILABLE = "hotel_unavailable"
    SUPPLIER_UNAVAILABLE = "supplier_unavailable"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_AMOUNT_MISMATCH = "payment_amount_mismatch"
    PAYMENT_TIMEOUT = "payment_timeout"
    CANCELLED_BY_TRAVELLER = "cancelled_by_traveller"
    # The orchestration itself failed or was terminated (a bug, an operator): the booking API shows this code.
    INTERNAL_ERROR = "internal_error"
