"""What an end-to-end test does with the running system: book, poll, sign webhooks, inspect the sandbox.

Everything goes over HTTP to the real processes (devhost on Azurite, the supplier sandbox); nothing
here knows how the service is built inside.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.webhooks import signed_headers

FINAL_STATUSES = {"Confirmed", "Failed", "Cancelled", "Expired"}

# Every e2e booking finishes within this many wall-clock seconds (payment delay 0, short retries).
WAIT_SECONDS = 60.0


@dataclass
class Journey:
    """A client of the running system, as a front end, an operator and a payment provider see it."""

    api_url: str
    sandbox_url: str
    webhook_secret: str
    http: httpx.Client

    # ---- the traveller's side -------------------------------------------------------------
    def book(
        self,
        email: str,
        trips: list[dict[str, Any]],
        *,
        idempotency_key: str | None = None,
        name: str = "Ada Lovelace",
        currency: str = "EUR",
    ) -> httpx.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = {"traveller": {"name": name, "email": email}, "trips": trips, "currency": currency}
        return self.http.post(f"{self.api_url}/api/bookings", json=body, headers=headers)

    def book_ok(self, email: str, trips: list[dict[str, Any]], **kwargs: Any) -> str:
        response = self.book(email, trips, **kwargs)
        assert response.status_code == 202, response.text
        return str(response.json()["bookingId"])

    def get(self, booking_id: str) -> httpx.Response:
        return self.http.get(f"{self.api_url}/api/bookings/{booking_id}")

    def events(self, booking_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.api_url}/api/bookings/{booking_id}/events")
        assert response.status_code == 200, response.text
        return list(response.json())

    def cancel(self, booking_id: str) -> httpx.Response:
        return self.http.post(f"{self.api_url}/api/bookings/{booking_id}/cancel")

    def wait_for(self, booking_id: str, statuses: set[str], seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        """Poll the booking until it reaches one of `statuses` (or fail with its last state)."""
        deadline = time.monotonic() + seconds
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = self.get(booking_id)
            if response.status_code == 200:
                last = response.json()
                if last.get("status") in statuses:
                    return last
            time.sleep(0.1)
        raise AssertionError(f"booking {booking_id} did not reach {sorted(statuses)}; last seen {last}")

    def wait_for_payment(self, booking_id: str, status: str, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        """The booking once its payment shows `status` (it may settle after the booking's own status)."""
        deadline = time.monotonic() + seconds
        while True:
            booking: dict[str, Any] = self.get(booking_id).json()
            if booking["payment"]["status"] == status or time.monotonic() > deadline:
                return booking
            time.sleep(0.2)

    def wait_delivered(self, payment_id: str, seconds: float = WAIT_SECONDS) -> None:
        """Until the sandbox has delivered every webhook it scheduled for the payment."""
        deadline = time.monotonic() + seconds
        url = f"{self.sandbox_url}/_sandbox/webhooks"
        while any(
            h["status"] == "scheduled" for h in self.http.get(url, params={"paymentId": payment_id}).json()
        ):
            assert time.monotonic() < deadline, f"webhooks for {payment_id} still scheduled"
            time.sleep(0.2)

    def wait_final(self, booking_id: str, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        return self.wait_for(booking_id, FINAL_STATUSES, seconds)

    # ---- the payment provider's side -------------------------------------------------------
    def signed_headers(
        self, body: bytes, *, webhook_id: str | None = None, at: float | None = None
    ) -> dict[str, str]:
        """Sign by hand, per the Standard Webhooks scheme of the contract (not with the app's library)."""
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        return signed_headers(body, self.webhook_secret, webhook_id, at)

    def payment_body(self, kind: str, booking: dict[str, Any], **overrides: Any) -> bytes:
        data = {
            "paymentId": booking["payment"]["paymentId"],
            "bookingId": booking["bookingId"],
            "amount": booking["total"]["amount"],
            "currency": booking["total"]["currency"],
        }
        data.update(overrides)
        return json.dumps({"type": kind, "data": data}).encode()

    def post_webhook(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(f"{self.api_url}/api/webhooks/payments", content=body, headers=headers)

    # ---- inspection at the sandbox ----------------------------------------------------------
    def supplier_bookings(self, email: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.sandbox_url}/_sandbox/bookings", params={"email": email})
        response.raise_for_status()
        return list(response.json())

    def payments(self, booking_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.sandbox_url}/_sandbox/payments", params={"bookingId": booking_id})
        response.raise_for_status()
        return list(response.json())

    def assert_nothing_left(self, email: str) -> None:
        """Every supplier booking made for this traveller has been undone."""
        active = [b for b in self.supplier_bookings(email) if b["status"] != "undone"]
        assert active == [], f"left behind at suppliers: {active}"

    def assert_made_once(self, email: str) -> None:
        """No supplier booking was made twice: one booking per idempotency key."""
        keys = [b["idempotencyKey"] for b in self.supplier_bookings(email)]
        assert len(keys) == len(set(keys)), f"duplicate supplier bookings: {keys}"


def unique_email(tags: str = "") -> str:
    """A traveller address with scenario tags and a unique run tag, so tests never share state."""
    run = uuid.uuid4().hex[:10]
    return f"ada+{tags}+run{run}@example.com" if tags else f"ada+run{run}@example.com"


def trip(
    conference_id: str = "serverlessdays-amsterdam-2027", origin: str = "BER", hotel: bool = True
) -> dict[str, Any]:
    return {"conferenceId": conference_id, "origin": origin, "hotel": hotel}
