"""The retry policy's backoff, and the deterministic instance ids."""

from datetime import timedelta

from booking import RetryPolicy, refund_instance_id, trip_instance_id


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
