"""A deploy that changes an orchestrator behind a version check, against the real processes: bookings
started under version 1.0 park on their payment; devhost restarts with the changed app and
defaultVersion 2.0 (the app setting a deployment sets); the parked bookings finish on their 1.0 path,
new ones take the new path, and nothing fails for non-determinism."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, running_devhost
from tests.e2e.journey import Journey, trip, unique_email
from tests.support.app_copy import changed_app
from tests.support.azurite import Azurite
from tests.support.sandbox import SandboxProcess

pytestmark = pytest.mark.e2e

# The version a deployment runs, as an app setting over host.json (extensions.durableTask.defaultVersion).
DEFAULT_VERSION = "AzureFunctionsJobHost__extensions__durableTask__defaultVersion"
# Version 2.0 tries the train before the flight; bookings of older versions keep the flight.
TRAIN_FIRST = (
    "orchestrators/trip.py",
    "run.book(FLIGHT, order)",
    "run.book(TRAIN if run.context.version == '2.0' else FLIGHT, order)",
)


def pay(journey: Journey, booking_id: str) -> None:
    payment_id = journey.get(booking_id).json()["payment"]["paymentId"]
    url = f"{journey.sandbox_url}/_sandbox/payments/{payment_id}/webhooks"
    assert journey.http.post(url, json={"type": "payment.succeeded"}).status_code == 202


def travel_supplier(journey: Journey, email: str) -> list[str]:
    return [b["supplier"] for b in journey.supplier_bookings(email) if b["supplier"] in ("airline", "rail")]


def test_parked_bookings_finish_on_their_version_after_a_deploy(
    azurite: Azurite, sandbox: SandboxProcess, tmp_path: Path
) -> None:
    app = changed_app(tmp_path / "app", TRAIN_FIRST)
    same_hub = {"TASKHUB_NAME": "VER" + uuid.uuid4().hex[:12], "PAYMENT_TIMEOUT_SECONDS": "120"}
    port = free_port()  # the payment callback URL of a parked booking names it
    old_email, new_email = unique_email("nopay"), unique_email("nopay")

    with httpx.Client(timeout=30) as http:
        with running_devhost(
            azurite, sandbox, app_root=app, port=port, settings={**same_hub, DEFAULT_VERSION: "1.0"}
        ):
            journey = Journey(f"http://127.0.0.1:{port}", sandbox.url, sandbox.webhook_secret, http)
            parked = journey.book_ok(old_email, [trip()])
            journey.wait_for(parked, {"AwaitingPayment"})

        with running_devhost(
            azurite, sandbox, app_root=app, port=port, settings={**same_hub, DEFAULT_VERSION: "2.0"}
        ):
            fresh = journey.book_ok(new_email, [trip()])
            journey.wait_for(fresh, {"AwaitingPayment"})
            for booking_id in (parked, fresh):
                pay(journey, booking_id)
            outcomes = {
                booking_id: journey.wait_final(booking_id)["status"] for booking_id in (parked, fresh)
            }
        old_travel, new_travel = travel_supplier(journey, old_email), travel_supplier(journey, new_email)

    assert outcomes == {parked: "Confirmed", fresh: "Confirmed"}
    assert old_travel == ["airline"]  # 1.0: the flight, as before the deploy
    assert new_travel == ["rail"]  # 2.0: the train first
