"""Orchestration inputs: everything an orchestrator needs, snapshotted when it starts.

Orchestrators read nothing else (no environment, no clock but the context's), so a setting changed
while a booking runs never makes its replay diverge.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from booking.circuit import CircuitPolicy
from booking.request import BookingRequest, Traveller, TripRequest
from booking.view import TripView
from booking.wire import WireModel

# Azure Storage splits timers longer than ~6 days and cancelling those has had SDK bugs
# (architecture.md): a payment window stays well under that.
MAX_PAYMENT_TIMEOUT_SECONDS = 5 * 24 * 3600
# A Retry-After beyond this is not waited for in full: the durable timer stays short and the supplier
# is simply asked again then (it answers 429 again if it still means it).
MAX_RETRY_AFTER = timedelta(hours=1)
# The longest wait between two tries of a step that must finish, once its normal attempts are spent.
PATIENT_MAX_INTERVAL = timedelta(minutes=10)


class RetryPolicy(WireModel):
    """The app's own exponential backoff (the SDK's RetryOptions are constant-interval only)."""

    first_interval_ms: int = Field(default=1000, gt=0)
    backoff: float = Field(default=2.0, ge=1.0)
    max_interval_ms: int = Field(default=60_000, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=50)

    def delay(self, failed_attempts: int, retry_after: timedelta | None = None) -> timedelta:
        """Wait before the next attempt, after `failed_attempts` (≥ 1) failures.

        first × backoff^(n-1), capped at the max interval; a supplier's Retry-After is honoured
        when it asks for longer (never shortened, since it is the supplier's explicit request).
        """
        exponent = max(failed_attempts - 1, 0)
        try:
            ms = min(self.first_interval_ms * self.backoff**exponent, float(self.max_interval_ms))
        except OverflowError:  # backoff^n leaves the float range after ~1000 attempts: long capped
            ms = float(self.max_interval_ms)
        delay = timedelta(milliseconds=round(ms))
        if retry_after is not None and retry_after > delay:
            return min(retry_after, MAX_RETRY_AFTER)
        return delay

    def patient(self) -> RetryPolicy:
        """The same backoff, its cap lifted tenfold (at most `PATIENT_MAX_INTERVAL`) once the attempts
        are spent: a step that must finish (undo, refund) keeps trying for hours without a history of
        thousands of attempts."""
        # Ten times the normal cap, at most PATIENT_MAX_INTERVAL (never below the normal cap).
        ceiling = int(PATIENT_MAX_INTERVAL.total_seconds() * 1000)
        cap = max(self.max_interval_ms, min(10 * self.max_interval_ms, ceiling))
        return self.model_copy(update={"max_interval_ms": cap})


class OrchestrationSettings(WireModel):
    """The settings snapshot that steers one booking (see `booking.settings.Settings.snapshot`)."""

    retry: RetryPolicy = RetryPolicy()
    circuit: CircuitPolicy = CircuitPolicy()
    payment_timeout_seconds: int = Field(default=900, gt=0, le=MAX_PAYMENT_TIMEOUT_SECONDS)
    payment_callback_url: str


class BookingInput(WireModel):
    """Input of the `booking` orchestrator (instance id = booking_id)."""

    booking_id: str = Field(min_length=1, max_length=200)
    request: BookingRequest
    settings: OrchestrationSettings
    fingerprint: str
    created_at: datetime


class TripInput(WireModel):
    """Input of the `trip` sub-orchestrator (instance id = `trip_instance_id(booking_id, index)`)."""

    booking_id: str
    index: int = Field(ge=0)
    trip: TripRequest
    traveller: Traveller
    retry: RetryPolicy
    # Set for trips of version 2.0 on (the supplier circuit breaker); older trips' inputs have none.
    circuit: CircuitPolicy | None = None


class UndoTripInput(WireModel):
    """Input of the `undo_trip` sub-orchestrator: a booked trip to take apart (`<bookingId>:undo:<n>`)."""

    booking_id: str
    index: int = Field(ge=0)
    trip: TripView
    retry: RetryPolicy


# Durable names: the booking API starts `booking` and `late_payment_refund` by these names.
BOOKING_ORCHESTRATOR = "booking"
TRIP_ORCHESTRATOR = "trip"
UNDO_TRIP_ORCHESTRATOR = "undo_trip"
LATE_PAYMENT_REFUND_ORCHESTRATOR = "late_payment_refund"


def booking_instance_id(booking_id: str) -> str:
    return booking_id


def trip_instance_id(booking_id: str, index: int) -> str:
    # Explicit, deterministic child ids: the same booking always names its trips alike, so a
    # replay, an operator or the timeline can find them without the parent's execution id.
    return f"{booking_id}:trip:{index}"


def undo_trip_instance_id(booking_id: str, index: int) -> str:
    return f"{booking_id}:undo:{index}"


def refund_key(payment_id: str) -> str:
    """The provider idempotency key of the one refund a payment may get, whichever path refunds it."""
    return f"refund:{payment_id}"


def refund_instance_id(payment_id: str) -> str:
    # One refund orchestration per payment: a duplicate late webhook finds it and refunds nothing twice.
    return f"refund-{payment_id}"
