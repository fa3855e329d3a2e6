"""The chaos run's own checks can fail: the promise "no payment after a cancel" on made-up timelines."""

from __future__ import annotations

from tests.e2e.chaos import payment_after_cancel


def entry(at: str, kind: str, scope: str = "booking", **more: str) -> dict[str, str]:
    return {"at": f"2027-01-01T10:00:{at}Z", "scope": scope, "type": kind, **more}


CANCEL = entry("05.000", "event", name="CancelRequested")
PAYMENT_ASKED = "request_payment"


def test_a_payment_asked_for_after_the_cancel_is_a_broken_promise():
    timeline = [CANCEL, entry("06.000", "payment", step=PAYMENT_ASKED)]
    (problem,) = payment_after_cancel(timeline)
    assert "payment requested at ['2027-01-01T10:00:06.000Z']" in problem


def test_a_payment_asked_for_before_the_cancel_is_a_race_the_cancel_lost():
    timeline = [
        entry("04.000", "payment", step=PAYMENT_ASKED),
        CANCEL,
        entry("06.000", "payment", step="cancel_payment"),
    ]
    assert payment_after_cancel(timeline) == []


def test_only_the_booking_itself_counts():
    timeline = [CANCEL, entry("06.000", "payment", scope="refund pay_1", step=PAYMENT_ASKED)]
    assert payment_after_cancel(timeline) == []
