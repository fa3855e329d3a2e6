"""The retry policy's backoff, and the deterministic instance ids."""

from datetime import timedelta

from booking import RetryPolicy, refund_instance_id, trip_instance_id
from booking.orchestration import PATIENT_MAX_INTERVAL


def test_delay_grows_exponentially_and_is_capped():
    policy = RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=5000, max_attempts=6)
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_retry_after_lengthens_but_never_shortens_the_delay():
    policy = RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=60000)
    assert policy.delay(1, retry_after=timedelta(seconds=7)) == timedelta(seconds=7)
    assert policy.delay(3, retry_after=timedelta(seconds=1)) == timedelta(seconds=4)
    assert policy.delay(1, retry_after=timedelta(days=3)) == timedelta(hours=1)


def test_instance_ids_are_deterministic():
    assert trip_instance_id("b-1", 2) == "b-1:trip:2"
    assert refund_instance_id("pay_9") == "refund-pay_9"


def test_delay_after_thousands_of_attempts_is_the_cap_not_an_overflow():
    # A step that must finish (undo, refund) may be tried for a day: backoff^n leaves the float range.
    policy = RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=60000)
    assert policy.delay(5000) == timedelta(seconds=60)


def test_patient_policy_keeps_the_curve_and_lifts_only_the_cap():
    policy = RetryPolicy(first_interval_ms=1000, backoff=2.0, max_interval_ms=60000, max_attempts=5)
    patient = policy.patient()
    assert patient.delay(3) == policy.delay(3)
    assert patient.delay(40) == PATIENT_MAX_INTERVAL
    slow = RetryPolicy(first_interval_ms=1000, max_interval_ms=3_600_000)
    assert slow.patient().max_interval_ms == 3_600_000  # never shortened


def test_patient_cap_grows_tenfold_for_short_policies():
    quick = RetryPolicy(first_interval_ms=100, max_interval_ms=1000)
    assert quick.patient().max_interval_ms == 10_000
