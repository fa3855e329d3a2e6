"""How an orchestrator step says "this booking (or trip) cannot go on": raised inside the generator,
caught at its top, turned into the view it returns. They never leave the orchestrator."""

from __future__ import annotations

from booking.status import BookingStatus, FailureCode
from booking.view import Failure


class TripFailed(Exception):
    def __init__(self, code: FailureCode, message: str) -> None:
        super().__init__(message)
        self.failure = Failure(code=code, message=message)


class BookingEnded(Exception):
    """The booking ends without being confirmed (failed, cancelled, expired)."""

    def __init__(self, status: BookingStatus, code: FailureCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.failure = Failure(code=code, message=message)


def cancelled_by_traveller() -> BookingEnded:
    message = "cancelled by the traveller"
    return BookingEnded(BookingStatus.CANCELLED, FailureCode.CANCELLED_BY_TRAVELLER, message)
