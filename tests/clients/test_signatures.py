"""Webhook signature verification: the contract's scheme signed by hand, and every malformed header a 401."""

from __future__ import annotations

import base64
import time

import pytest

from booking.errors import ConfigurationError
from clients.errors import InvalidSignature
from clients.signatures import verify
from tests.clients.support import signed

SECRET = "whsec_" + base64.b64encode(b"test-only-secret-for-signature-tests").decode()
BODY = b'{"type": "payment.succeeded", "data": {}}'


def sign(
    body: bytes, webhook_id: str = "msg_1", at: float | None = None, secret: str = SECRET
) -> dict[str, str]:
    """Per booking-api.md, without the library under test: only the three webhook headers."""
    headers = signed(body, secret, webhook_id=webhook_id, at=at)
    del headers["content-type"]
    return headers


def test_a_good_signature_returns_the_webhook_id() -> None:
    assert verify(SECRET, sign(BODY, "msg_abc"), BODY) == "msg_abc"


def test_any_of_several_signatures_may_match() -> None:
    headers = sign(BODY)
    headers["webhook-signature"] = "v1,AAAA v2,whatever " + headers["webhook-signature"]
    assert verify(SECRET, headers, BODY) == "msg_1"


def test_timestamps_within_five_minutes_either_way_pass() -> None:
    now = time.time()
    assert verify(SECRET, sign(BODY, at=now - 280), BODY)
    assert verify(SECRET, sign(BODY, at=now + 280), BODY)


@pytest.mark.parametrize("offset", [-400, 400, -86400 * 365])
def test_timestamps_outside_the_window_fail(offset: int) -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, sign(BODY, at=time.time() + offset), BODY)


def test_another_secret_fails() -> None:
    other = "whsec_" + base64.b64encode(b"another-secret-entirely-0123").decode()
    with pytest.raises(InvalidSignature):
        verify(SECRET, sign(BODY, secret=other), BODY)


def test_a_changed_body_fails() -> None:
    headers = sign(BODY)
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, BODY + b" ")


def test_a_changed_id_or_timestamp_fails() -> None:
    headers = sign(BODY)
    with pytest.raises(InvalidSignature):
        verify(SECRET, {**headers, "webhook-id": "msg_2"}, BODY)
    with pytest.raises(InvalidSignature):
        verify(SECRET, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}, BODY)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_fails(missing: str) -> None:
    headers = sign(BODY)
    del headers[missing]
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, BODY)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "v1",  # no comma: the library's tuple unpacking raises ValueError
        "v1,a,b",  # too many parts: ValueError
        "v1,!!!!",  # not base64: binascii.Error
        "v1,A",  # bad padding: binascii.Error
        "v1,AAAA",  # valid base64, wrong length
        "v2," + base64.b64encode(b"x" * 32).decode(),  # unknown version only
        ",",
        "   ",
        "v1," + "A" * 5000,
    ],
)
def test_malformed_signatures_fail_cleanly(signature: str) -> None:
    headers = sign(BODY)
    headers["webhook-signature"] = signature
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, BODY)


@pytest.mark.parametrize(
    "timestamp", ["abc", "1.7e9", "1700000000.9", "-5", "nan", "inf", "9" * 40, " 1700000000", ""]
)
def test_malformed_timestamps_fail_cleanly(timestamp: str) -> None:
    headers = sign(BODY)
    headers["webhook-timestamp"] = timestamp
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, BODY)


@pytest.mark.parametrize("webhook_id", ["has space", "x" * 256, "tab\there", "é"])
def test_malformed_ids_fail_cleanly(webhook_id: str) -> None:
    headers = sign(BODY, webhook_id=webhook_id if webhook_id.isascii() else "msg_1")
    headers["webhook-id"] = webhook_id
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, BODY)


def test_a_signed_body_that_is_not_utf8_verifies_over_its_raw_bytes() -> None:
    # Proven to come from the provider, then refused as unreadable (400) by the webhook, not as forged.
    body = b"\xff\xfe{}"
    assert verify(SECRET, sign(body), body) == sign(body)["webhook-id"]


def test_a_malformed_secret_is_our_error_not_the_callers() -> None:
    # A malformed secret must not be swallowed into a 401: it is a misconfiguration (a 500).
    with pytest.raises(ConfigurationError):
        verify("whsec_A", sign(BODY), BODY)


@pytest.mark.parametrize(
    "junk",
    ["v1", "v1,a,b", "v1,A", "v1,@@@", "v2,zzz", "v1a,AAAA", ",AAAA", "v1,", "v1," + "A" * 43 + "=="],
    ids=["no-comma", "three-parts", "bad-padding", "not-base64", "v2", "v1a", "no-version", "empty", "long"],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_good_signature_verifies_whatever_malformed_entries_come_with_it(junk: str, where: str) -> None:
    headers = sign(BODY)
    good = headers["webhook-signature"]
    headers["webhook-signature"] = f"{junk} {good}" if where == "before" else f"{good} {junk}"
    assert verify(SECRET, headers, BODY) == "msg_1"


@pytest.mark.parametrize("junk", ["v1 v1,a,b v1,A", "v2,zzz v1a,AAAA", "v1," + "A" * 43 + "= v1,@@@"])
def test_only_malformed_or_wrong_entries_fail(junk: str) -> None:
    headers = sign(BODY)
    headers["webhook-signature"] = junk
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, BODY)
