"""Standard Webhooks signing, written from the spec so the app's verifier is checked independently.

signature = base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")), sent as `v1,<sig>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(key: bytes, webhook_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header value for one delivery attempt."""
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(key: bytes, webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, webhook_id, timestamp, body),
        "content-type": "application/json",
    }
