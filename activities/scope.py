"""What an activity's spans and log lines say about its booking, read from the order's ids only.

The orchestrators derive every supplier idempotency key from an instance id (`<bookingId>:trip:<n>:<step>`,
`<bookingId>:payment`, `<bookingId>:expenses`), so the key names the booking and the trip; payment and
expense orders also carry the booking id. An undo or a refund names only a supplier reference or a
payment: its spans are still the booking's through the trace. Nothing else of an order (traveller, card,
amounts) is read here.
"""

from __future__ import annotations

import re
from typing import TypedDict

from booking.orchestration import booking_instance_id, trip_instance_id

_KEY = re.compile(r"(bk_[0-9a-f]{32})(?::trip:(\d{1,4})(?::|$))?")


class OrderScope(TypedDict, total=False):
    booking_id: str
    instance_id: str
    trip: int


def order_scope(order: object) -> OrderScope:
    """booking id, trip index and the calling orchestration's instance id, as far as the order names them."""
    scope = OrderScope()
    key = getattr(order, "idempotency_key", None)
    match = _KEY.match(key) if isinstance(key, str) else None
    if match is not None:
        booking_id, trip = match.group(1), match.group(2)
        scope["booking_id"] = booking_id
        if trip is not None:
            scope["trip"] = int(trip)
            scope["instance_id"] = trip_instance_id(booking_id, int(trip))
        else:
            scope["instance_id"] = booking_instance_id(booking_id)
    booking_id = getattr(order, "booking_id", None)
    if isinstance(booking_id, str) and "booking_id" not in scope:
        scope["booking_id"] = booking_id
    return scope
