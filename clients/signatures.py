"""Standard Webhooks verification for the payment provider's callbacks, before anything is parsed.

Every way a header can be missing or malformed ends as `InvalidSignature` (a 401 at the edge): the
`standardwebhooks` library raises ValueError / binascii.Error / UnicodeDecodeError of its own on
malformed input, and those must never surface as a 500.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# The contract's timestamp is integer Unix seconds; the library would also take "1.7e9" or
# "1700000000.9" and then check the signature against the floored value, so refuse those first.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Ids are opaque to us but end up in logs and in a dedupe cache: keep them short and printable.
_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,255}")
_MAX_SIGNATURE_HEADER = 4096
# One v1 entry: base64 of a 32-byte HMAC-SHA256 is always 43 characters and one "=".
_V1_ENTRY = re.compile(r"v1,[A-Za-z0-9+/]{43}=")


class InvalidSignature(Exception):
    """The request is not provably from the payment provider (or is outside the time window)."""


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """Check the Standard Webhooks signature of `body` and return the `webhook-id`.

    The ±5 minute timestamp window is the library's (both ways). Raises `InvalidSignature` for
    every failure; the reason is for logs, never for the response.
    """
    webhook_id = headers.get("webhook-id") or ""
    timestamp = headers.get("webhook-timestamp") or ""
    signature = headers.get("webhook-signature") or ""
    if not (webhook_id and timestamp and signature):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    if not _WEBHOOK_ID.fullmatch(webhook_id):
        raise InvalidSignature("malformed webhook-id")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise InvalidSignature("malformed webhook-timestamp")
    if len(signature) > _MAX_SIGNATURE_HEADER:
        raise InvalidSignature("oversized webhook-signature")
    # The header is a list to try in turn (key rotation, future versions). The library gives up on the
    # first malformed entry ("v1", "v1,a,b", bad padding), even when a later one is the right signature:
    # keep only well-formed v1 entries, so a good signature verifies whatever else is listed with it.
    entries = [entry for entry in signature.split(" ") if _V1_ENTRY.fullmatch(entry)]
    if not entries:
        raise InvalidSignature("no well-formed v1 signature")
    # Built outside the try: a malformed secret is our misconfiguration (a 500), not the caller's 401.
    hook = Webhook(secret)
    try:
        hook.verify(
            body,
            {
                "webhook-id": webhook_id,
                "webhook-timestamp": timestamp,
                "webhook-signature": " ".join(entries),
            },
            json_parse=False,
        )
    except WebhookVerificationError as exc:
        raise InvalidSignature(str(exc)) from None
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        # Malformed signature entries ("v1", "v1,a,b", bad base64) or a body that is not UTF-8.
        raise InvalidSignature(f"malformed signature input ({type(exc).__name__})") from None
    return webhook_id
