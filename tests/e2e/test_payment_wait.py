"""The payment wait against the real processes: whatever webhooks came before it, a booking whose
payment succeeded is Confirmed within the contract's 10 s of the provider's webhook — not at the
end of the payment window (which is 90 s here, so waiting it out would fail the bound)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import running_devhost
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.azurite import Azurite
from tests.support.devhost import DevhostProcess
from tests.support.sandbox import SandboxProcess

CONFIRMED_WITHIN_SECONDS = 10  # docs/booking-api.md, the payment webhook section


@pytest.fixture(scope="module")
def devhost(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[DevhostProcess]:
    settings = {"PAYMENT_TIMEOUT_SECONDS": "90"}
    with running_devhost(azurite, sandbox, hub_prefix="PAYWAIT", settings=settings) as host:
        yield host


@pytest.fixture(scope="module")
def journey(devhost: DevhostProcess, sandbox: SandboxProcess) -> Iterator[Journey]:
    with httpx.Client(timeout=30) as http:
        yield Journey(devhost.base_url, sandbox.url, sandbox.webhook_secret, http)


def test_stray_stray_then_the_real_payment_is_confirmed_within_seconds(journey: Journey) -> None:
    email = unique_email("nopay")
    booking_id = journey.book_ok(email, [trip()])
    awaiting = journey.wait_for(booking_id, {"AwaitingPayment"})

    # Two validly signed successes for this booking naming payments the provider never made,
    # back to back: the second reaches the booking while it is refunding the first.
    for _ in range(2):
        stray = journey.payment_body("payment.succeeded", awaiting, paymentId=f"pay_stray_{uuid.uuid4().hex}")
        response = journey.post_webhook(stray, journey.signed_headers(stray))
        assert response.status_code == 200, response.text
    time.sleep(1)
    assert journey.get(booking_id).json()["status"] == "AwaitingPayment"

    # The traveller really pays; the provider sends its webhook.
    payment_id = awaiting["payment"]["paymentId"]
    paid_at = time.monotonic()
    sent = journey.http.post(
        f"{journey.sandbox_url}/_sandbox/payments/{payment_id}/webhooks", json={"type": "payment.succeeded"}
    )
    assert sent.status_code == 202, sent.text
    confirmed = journey.wait_for(booking_id, {"Confirmed"}, seconds=CONFIRMED_WITHIN_SECONDS)
    assert time.monotonic() - paid_at <= CONFIRMED_WITHIN_SECONDS

    assert confirmed["payment"]["status"] == "Succeeded"
    assert [p["status"] for p in journey.payments(booking_id)] == ["succeeded"]
    journey.assert_made_once(email)
