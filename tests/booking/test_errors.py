"""The Retry-After marker survives the trip through an activity failure message."""

from datetime import timedelta

from booking.errors import TransientSupplierError, retry_after_from_failure


def test_marker_round_trips_through_the_runtime_failure_text():
    exc = TransientSupplierError("airline", "429 rate_limited", retry_after=timedelta(seconds=2.5))
    # What the orchestrator sees (protocol §2.6): Reason, a space, newline, Details (JSON with the message).
    seen = (
        f"Activity function 'book_flight' failed:  TransientSupplierError: {exc} \n "
        f'{{"Message": " TransientSupplierError: {exc}"}}'
    )
    assert retry_after_from_failure(seen) == timedelta(milliseconds=2500)


def test_no_marker_no_retry_after():
    assert TransientSupplierError("airline", "503 unavailable").retry_after is None
    assert retry_after_from_failure("Activity function 'x' failed:  TransientSupplierError: 503") is None
