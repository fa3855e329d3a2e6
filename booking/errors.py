"""Domain errors. The edge turns them into problem details in one place; activities raise the
transient ones so that the orchestrator retries.

    BookingError
    ├── ConfigurationError          settings missing or refused (e.g. the dev secret in production)
    ├── BookingNotFound             no booking with that id                      (edge: 404)
    ├── BookingAlreadyFinal         cancel of a booking that has ended           (edge: 409)
    ├── IdempotencyKeyReused        same Idempotency-Key, different body         (edge: 422)
    └── SupplierError               a supplier call went wrong
        ├── TransientSupplierError  timeout, 5xx, 429: raised by activities, retried by orchestrators
        └── SupplierProtocolError   the supplier answered something we cannot map (a bug on one side)

Business outcomes (no route, sold out, unknown conference, declined payment) are results, not
errors: see booking.activity_io. An orchestrator cannot tell one raised failure from another except
by its message, so it retries every one (as the runtime's own retry does) and reports
`supplier_unavailable` once the attempts are spent.

The only channel from a raising activity to its orchestrator is the failure message
("Activity function 'x' failed:  TransientSupplierError: … \\n {details}"). Two markers travel in it,
both written by `TransientSupplierError` and read back here:
- `[retry-after-ms=<int>]`: the supplier's Retry-After (`retry_after_from_failure`);
- `[outcome-unknown]`: the call may have been carried out though no answer came (a timeout or a
  dropped connection after the request was sent), so a booking step that gives up must reclaim it
  (`outcome_unknown_from_failure`).
"""

from __future__ import annotations

import re
from datetime import timedelta

_RETRY_AFTER = re.compile(r"\[retry-after-ms=(\d{1,12})\]")
OUTCOME_UNKNOWN_MARKER = "[outcome-unknown]"


class BookingError(Exception):
    """Base of every domain error."""


class ConfigurationError(BookingError):
    """The app settings are missing or refused; the message names fields, never values."""


class BookingNotFound(BookingError):
    def __init__(self, booking_id: str) -> None:
        super().__init__(f"booking {booking_id} not found")
        self.booking_id = booking_id


class BookingAlreadyFinal(BookingError):
    def __init__(self, booking_id: str, status: str) -> None:
        super().__init__(f"booking {booking_id} has already ended ({status})")
        self.booking_id = booking_id
        self.status = status


class IdempotencyKeyReused(BookingError):
    def __init__(self, key: str) -> None:
        super().__init__("this Idempotency-Key was used with a different request body")
        self.key = key


class SupplierError(BookingError):
    """A supplier call failed; `supplier` names the API (airline, payment, …)."""

    def __init__(self, supplier: str, message: str) -> None:
        super().__init__(f"{supplier}: {message}")
        self.supplier = supplier


class TransientSupplierError(SupplierError):
    """Worth retrying: a timeout, a connection error, a 5xx or a 429. `outcome_unknown`: the supplier
    may have carried the call out (no answer after the request may have been sent)."""

    def __init__(
        self,
        supplier: str,
        message: str,
        retry_after: timedelta | None = None,
        *,
        outcome_unknown: bool = False,
    ) -> None:
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown
        if retry_after is not None:
            message = f"{message} {retry_after_marker(retry_after)}"
        if outcome_unknown:
            message = f"{message} {OUTCOME_UNKNOWN_MARKER}"
        super().__init__(supplier, message)


class SupplierProtocolError(SupplierError):
    """The supplier answered in a way the client cannot map (a bug on one side)."""


def retry_after_marker(delay: timedelta) -> str:
    return f"[retry-after-ms={max(int(delay.total_seconds() * 1000), 0)}]"


def retry_after_from_failure(message: str) -> timedelta | None:
    """The Retry-After carried by an activity failure message, if any (first marker wins)."""
    match = _RETRY_AFTER.search(message)
    return timedelta(milliseconds=int(match.group(1))) if match else None


def outcome_unknown_from_failure(message: str) -> bool:
    """Whether an activity failure message says the call's outcome is unknown (it may have been done)."""
    return OUTCOME_UNKNOWN_MARKER in message
