"""Standard Webhooks verification for the payment provider's callbacks, before anything is parsed.

Every way a header can be missing or malformed ends as `InvalidSignature` (a 401 at the edge), never a
500; the signature is checked over the raw body bytes, so only a verified body is ever decoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from booking.errors import ConfigurationError
from clients.errors import InvalidSignature

# Standard Webhooks' window, both ways: a replay of an old delivery or a clock far ahead is refused.
TOLERANCE_SECONDS = 5 * 60

# The contract's timestamp is integer Unix seconds; the library would also take "1.7e9" or
# "1700000000.9" and then check the signature against the floored value, so refuse those first.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Ids are opaque to us but end up in logs and in a dedupe cache: keep them short and printable.
_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,255}")
_MAX_SIGNATURE_HEADER = 4096
# One v1 entry: base64 of a 32-byte HMAC-SHA256 is always 43 characters and one "=".
_V1_ENTRY = re.compile(r"v1,[A-Za-z0-9+/]{43}=")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("PAYMENT_WEBHOOK_SECRET is not whsec_<base64>") from None


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """Check the Standard Webhooks signature of `body` and return the `webhook-id`.

    The timestamp window is ±5 minutes (both ways), as in Standard Webhooks. Raises `InvalidSignature` for
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
    # The header is a list to try in turn (key rotation, future versions). Strict parsers give up on the
    # first malformed entry ("v1", "v1,a,b", bad padding), even when a later one is the right signature:
    # keep only well-formed v1 entries, so a good signature verifies whatever else is listed with it.
    entries = [entry for entry in signature.split(" ") if _V1_ENTRY.fullmatch(entry)]
    if not entries:
        raise InvalidSignature("no well-formed v1 signature")
    # Verified over the raw bytes, before anything decodes them: the library decodes the body as UTF-8
    # first, so a correctly signed body that is not UTF-8 would look forged (401) instead of unreadable
    # (400). The scheme is small enough to check here: HMAC-SHA256 over "{id}.{timestamp}." + body.
    key = _key(secret)  # outside any except: a malformed secret is our misconfiguration (a 500)
    sent_at = int(timestamp)
    if abs(time.time() - sent_at) > TOLERANCE_SECONDS:
        raise InvalidSignature("webhook-timestamp outside the tolerance window")
    expected = hmac.new(key, f"{webhook_id}.{timestamp}.".encode("ascii") + body, hashlib.sha256).digest()
    if not any(hmac.compare_digest(expected, base64.b64decode(entry[3:])) for entry in entries):
        raise InvalidSignature("no matching signature")
    return webhook_id
