"""The Retry-After and outcome-unknown markers survive the trip through an activity failure message."""

from datetime import timedelta

from booking.errors import TransientSupplierError, outcome_unknown_from_failure, retry_after_from_failure


def test_marker_round_trips_through_the_runtime_failure_text():
    exc = TransientSupplierError("airline", "429 rate_limited", retry_after=timedelta(seconds=2.5))
    # What the orchestrator sees (PROTOCOL.md §2.6): Reason, a space, newline, Details (JSON with the
    # message).
    seen = (
        f"Activity function 'book_flight' failed:  TransientSupplierError: {exc} \n "
        f'{{"Message": " TransientSupplierError: {exc}"}}'
    )
    assert retry_after_from_failure(seen) == timedelta(milliseconds=2500)


def test_no_marker_no_retry_after():
    assert TransientSupplierError("airline", "503 unavailable").retry_after is None
    assert retry_after_from_failure("Activity function 'x' failed:  TransientSupplierError: 503") is None


def runtime_text(exc: Exception) -> str:
    return (
        f"Activity function 'book_flight' failed:  TransientSupplierError: {exc} \n "
        f'{{"Message": " TransientSupplierError: {exc}"}}'
    )


def test_outcome_unknown_marker_round_trips_with_the_retry_after():
    exc = TransientSupplierError(
        "airline",
        "POST /bookings timed out (ReadTimeout)",
        retry_after=timedelta(seconds=1),
        outcome_unknown=True,
    )
    assert exc.outcome_unknown
    assert outcome_unknown_from_failure(runtime_text(exc))
    assert retry_after_from_failure(runtime_text(exc)) == timedelta(seconds=1)


def test_a_known_failure_carries_no_outcome_unknown_marker():
    exc = TransientSupplierError("airline", "POST /bookings failed: ConnectError")
    assert not exc.outcome_unknown
    assert not outcome_unknown_from_failure(runtime_text(exc))
