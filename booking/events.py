"""External events raised into a `booking` orchestration, and their payloads.

The Python client's `raise_event` payload reaches the orchestrator as a JSON *string* (the double
encoding of PROTOCOL.md §4.1) while the HTTP API delivers an object: `parse_event_payload` accepts both.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import ConfigDict, Field

from booking.money import Amount, CurrencyCode, Money
from booking.wire import WireModel

PAYMENT_SUCCEEDED = "PaymentSucceeded"
PAYMENT_FAILED = "PaymentFailed"
CANCEL_REQUESTED = "CancelRequested"


class PaymentEvent(WireModel):
    """A verified payment webhook as the webhook endpoint raises it; also `late_payment_refund`'s input."""

    webhook_id: str = Field(min_length=1, max_length=255)
    type: Literal["payment.succeeded", "payment.failed"] = "payment.succeeded"
    payment_id: str = Field(min_length=1, max_length=200)
    booking_id: str | None = None
    amount: Amount
    currency: CurrencyCode
    reason: str | None = Field(default=None, max_length=500)

    @property
    def money(self) -> Money:
        return Money(amount=self.amount, currency=self.currency)

    @property
    def succeeded(self) -> bool:
        return self.type == "payment.succeeded"


class CancelRequest(WireModel):
    """The optional body of `POST /api/bookings/{id}/cancel`: `{"reason": "…"}` and nothing else."""

    # An unknown field is a caller's mistake worth a 422 (as for a booking), not something to drop.
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


def parse_event_payload(payload: Any) -> dict[str, Any]:
    """The event's payload as a dict, whether it came as an object, a JSON string or nothing."""
    while isinstance(payload, str | bytes):
        try:
            payload = json.loads(payload)
        except ValueError:
            return {}
    return payload if isinstance(payload, dict) else {}
