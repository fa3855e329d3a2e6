"""Booking ids: a deterministic one per Idempotency-Key, a random one otherwise.

The key's id makes a retried POST land on the same orchestration; the request fingerprint
(`BookingRequest.fingerprint`, stored in the orchestration input) tells a true replay from a key
reused with another body.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from clients.errors import InvalidIdempotencyKey

BOOKING_ID_PREFIX = "bk_"
# Booking ids are ours: anything else is unknown without asking the task hub.
BOOKING_ID = re.compile(r"bk_[0-9a-f]{32}")
# Visible ASCII except the comma: the host joins repeated headers with "," (so "a,b" is two keys).
KEY_PATTERN = r"[\x21-\x2b\x2d-\x7e]{1,255}"
_KEY = re.compile(KEY_PATTERN)


def check_key(value: str) -> str:
    """Return the key if it is 1–255 visible ASCII characters (no space, no comma), else raise."""
    if "," in value:
        raise InvalidIdempotencyKey("Send one Idempotency-Key header; a key never contains a comma")
    if not _KEY.fullmatch(value):
        raise InvalidIdempotencyKey("Idempotency-Key must be 1 to 255 visible ASCII characters, no comma")
    return value


def booking_id_for_key(key: str) -> str:
    """The booking id a key always maps to (128 bits of a domain-separated SHA-256)."""
    digest = hashlib.sha256(b"conference-trips/idempotency-key/v1\x00" + key.encode("ascii")).hexdigest()
    return BOOKING_ID_PREFIX + digest[:32]


def new_booking_id() -> str:
    """A fresh random booking id, for requests without an Idempotency-Key."""
    return BOOKING_ID_PREFIX + uuid.uuid4().hex


def is_booking_id(value: str) -> bool:
    return BOOKING_ID.fullmatch(value) is not None
