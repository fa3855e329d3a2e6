"""Property-based tests of the edge's two gatekeepers: the booking request reader/validator and the
webhook verifier. Whatever bytes arrive, the only outcomes are a parsed request or an error the problem
mapping turns into a 4xx; a signature verifies exactly when it is the contract's HMAC, in the window.

Bounded: a fixed number of examples each, derandomized (the same cases every run), no database file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from booking import BookingRequest
from clients.body import parse_json
from clients.errors import InvalidFields, InvalidRequestBody, InvalidSignature, MalformedRequest
from clients.problems import to_problem
from clients.signatures import verify
from clients.validation import validate_input
from clients.webhooks import _payment_event

# Hypothesis caches example constants on disk: keep that out of the shared working tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "hypothesis-conference-trips")

BOUNDED = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SECRET = "whsec_" + base64.b64encode(b"property-tests-only-webhook-key!").decode()
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
# Near-valid booking documents: the right keys with values of any JSON type, so validation is exercised
# beyond "not an object".
trip_docs = st.fixed_dictionaries(
    {
        "conferenceId": json_values | st.just("serverlessdays-amsterdam-2027"),
        "origin": json_values | st.just("BER"),
    },
    optional={"hotel": json_values | st.booleans()},
)
booking_docs = st.fixed_dictionaries(
    {
        "traveller": st.fixed_dictionaries(
            {"name": json_values | st.text(min_size=1), "email": json_values | st.emails()}
        )
        | json_values,
        "trips": st.lists(trip_docs, max_size=12) | json_values,
    },
    optional={"currency": json_values | st.sampled_from(["EUR", "USD", "eur"])},
)


def _refused_as_4xx(exc: BaseException) -> None:
    status = to_problem(exc).status
    assert 400 <= status < 500, (type(exc).__name__, status)


@BOUNDED
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_are_json_or_a_400(body: bytes) -> None:
    try:
        parse_json(body)
    except MalformedRequest as exc:
        assert to_problem(exc).status == 400


@BOUNDED
@given(booking_docs | json_values)
def test_any_document_is_a_booking_request_or_a_422_listing_fields(document: Any) -> None:
    try:
        request = validate_input(BookingRequest, document)
    except InvalidFields as exc:
        assert exc.errors and all(e.field and e.message for e in exc.errors)
        assert to_problem(exc).status == 422
        return
    # What passes is what the contract allows: typed values only, 1 to 10 trips.
    assert isinstance(document, dict)
    assert 1 <= len(request.trips) <= 10
    for sent, trip in zip(document["trips"], request.trips, strict=True):
        assert isinstance(sent["conferenceId"], str) and isinstance(sent["origin"], str)
        assert isinstance(sent.get("hotel", True), bool) and trip.hotel == sent.get("hotel", True)


amounts = (
    st.text(max_size=12)
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.from_regex(r"[0-9]{1,3}[eE][+-]?[0-9]{1,7}", fullmatch=True)
    | st.integers()
    | st.floats()
)


def _sometimes(valid: Any, other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the valid value, so the other fields' checks are reached; sometimes anything else."""
    return st.sampled_from([valid, valid, valid]) | other


payment_data = st.fixed_dictionaries(
    {
        "paymentId": _sometimes("pay_1", st.text(max_size=5) | json_values),
        "bookingId": _sometimes("bk_" + "0" * 32, st.text(max_size=5) | json_values),
        "amount": amounts,
        "currency": _sometimes("EUR", st.sampled_from(["eur", "", "EURO"]) | json_values),
    },
    optional={"reason": json_values},
)


@BOUNDED
@given(
    st.fixed_dictionaries(
        {
            "type": _sometimes("payment.succeeded", st.just("payment.failed") | json_values),
            "data": payment_data | json_values,
        }
    )
    | json_values
)
def test_any_signed_payment_document_is_an_event_or_a_400(document: Any) -> None:
    try:
        event = _payment_event("msg_prop", document)
    except InvalidRequestBody as exc:
        assert to_problem(exc).status == 400
        return
    assert event.amount >= 0 and event.amount == event.amount.quantize(event.amount.__class__("0.01"))


def _headers(webhook_id: str, timestamp: str, body: bytes, key: bytes = KEY) -> dict[str, str]:
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


header_text = st.text(max_size=60) | st.from_regex(r"v[0-9],[A-Za-z0-9+/=]{0,50}( v[0-9],[^ ]{0,10}){0,3}")


@BOUNDED
@given(
    st.text(max_size=40), st.text(max_size=20) | st.integers().map(str), header_text, st.binary(max_size=64)
)
def test_any_headers_verify_or_fail_as_invalid_signature(
    webhook_id: str, timestamp: str, signature: str, body: bytes
) -> None:
    headers = {"webhook-id": webhook_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    try:
        verify(SECRET, headers, body)
    except InvalidSignature as exc:
        assert to_problem(exc).status == 401
    else:  # random headers never forge a signature
        raise AssertionError(f"verified without the key: {headers!r}")


@BOUNDED
@given(
    st.from_regex(r"[\x21-\x7e]{1,40}", fullmatch=True),
    st.integers(min_value=-299, max_value=299),
    st.binary(max_size=200),
)
def test_the_contracts_signature_in_the_window_verifies(webhook_id: str, skew: int, body: bytes) -> None:
    headers = _headers(webhook_id, str(int(time.time()) + skew), body)
    # Any bytes: the signature is over the raw body, so one that is not UTF-8 verifies too (and is then
    # the webhook's 400, not a forgery's 401).
    assert verify(SECRET, headers, body) == webhook_id


@BOUNDED
@given(
    st.from_regex(r"[\x21-\x7e]{1,40}", fullmatch=True),
    st.integers(min_value=301, max_value=10**9) | st.integers(min_value=-(10**9), max_value=-301),
    st.binary(max_size=64),
    st.sampled_from(["skew", "body", "id", "key", "version", "float-ts"]),
)
def test_any_change_to_a_signed_request_fails(webhook_id: str, skew: int, body: bytes, change: str) -> None:
    now = int(time.time())
    headers = _headers(webhook_id, str(now), body)
    if change == "skew":
        headers = _headers(webhook_id, str(max(now + skew, 0)), body)
    elif change == "body":
        body = body + b"x"
    elif change == "id":
        headers["webhook-id"] = webhook_id + "x"
    elif change == "key":
        headers = _headers(webhook_id, str(now), body, key=KEY[::-1])
    elif change == "version":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,", 1)
    else:
        headers = _headers(webhook_id, f"{now}.0", body)
    _refused(headers, body)


def _refused(headers: dict[str, str], body: bytes) -> None:
    try:
        verify(SECRET, headers, body)
    except InvalidSignature:
        return
    raise AssertionError(f"accepted: {headers!r}")

