"""Standard Webhooks headers signed by hand, per the contract in docs/booking-api.md — deliberately not
with the app's own signing code, so a test of the app's verification checks it against the scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def signed_headers(body: bytes, secret: str, webhook_id: str, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }
