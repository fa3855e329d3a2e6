"""The booking's view as it unfolds, published as the orchestration's custom status at every step
(that is what `GET /api/bookings/{id}` shows) and returned as its output at the end."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from booking.money import Money
from booking.orchestration import BookingInput
from booking.status import BookingStatus, PaymentStatus, TripStatus
from booking.view import BookingView, Failure, PaymentView, TripView
from orchestrators.steps import log


class BookingStory:
    def __init__(self, context: df.DurableOrchestrationContext, order: BookingInput) -> None:
        self._context = context
        self.status = BookingStatus.BOOKING
        self.trips = [
            TripView(conference_id=trip.conference_id, status=TripStatus.BOOKING)
            for trip in order.request.trips
        ]
        self.total: Money | None = None
        self.payment = PaymentView()
        self.failure: Failure | None = None

    def view(self) -> BookingView:
        return BookingView(
            status=self.status, trips=self.trips, total=self.total, payment=self.payment, failure=self.failure
        )

    def publish(self, status: BookingStatus | None = None) -> None:
        if status is not None:
            self.status = status
        self._context.set_custom_status(self.view().to_wire())

    def payment_is(self, status: PaymentStatus, **details: Any) -> None:
        self.payment = self.payment.model_copy(update={"status": status, **details})
        self.publish()

    def awaiting_payment(self, payment_id: str, checkout_url: str | None, expires_at: datetime) -> None:
        self.payment = PaymentView(
            status=PaymentStatus.PENDING,
            payment_id=payment_id,
            checkout_url=checkout_url,
            expires_at=expires_at,
        )
        self.publish(BookingStatus.AWAITING_PAYMENT)

    def conclude(self, status: BookingStatus, failure: Failure | None = None) -> None:
        """Show the final status (the edge reads it to route late payments) before the last steps."""
        self.failure = failure
        self.publish(status)

    def end(self, status: BookingStatus, failure: Failure | None = None) -> dict[str, Any]:
        self.conclude(status, failure)
        code = failure.code if failure is not None else "-"
        log(self._context, logging.INFO, "booking ended %s (%s)", status, code)
        return self.view().to_wire()
