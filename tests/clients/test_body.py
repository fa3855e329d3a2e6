"""Reading bodies: 64 KiB cap, application/json only, strict JSON."""

from __future__ import annotations

import azure.functions as func
import pytest

from clients.body import MAX_BODY_BYTES, is_json_content_type, parse_json, read_json
from clients.errors import MalformedRequest, PayloadTooLarge


def request(body: bytes, content_type: str | None = "application/json") -> func.HttpRequest:
    headers = {"content-type": content_type} if content_type is not None else {}
    return func.HttpRequest("POST", "http://localhost/api/bookings", headers=headers, body=body)


def test_a_json_object_is_read() -> None:
    assert read_json(request(b'{"a": [1, "x"]}')) == {"a": [1, "x"]}


def test_exactly_64_kib_is_accepted_and_one_byte_more_is_not() -> None:
    padded = b'{"a": "' + b"x" * (MAX_BODY_BYTES - 9) + b'"}'
    assert len(padded) == MAX_BODY_BYTES
    assert read_json(request(padded))["a"].startswith("x")
    with pytest.raises(PayloadTooLarge):
        read_json(request(padded + b" "))


def test_size_is_checked_before_the_content_type() -> None:
    with pytest.raises(PayloadTooLarge):
        read_json(request(b"x" * (MAX_BODY_BYTES + 1), content_type="text/plain"))


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
    ],
)
def test_json_content_types(value: str) -> None:
    assert is_json_content_type(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "text/plain",
        "application/jsonx",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
    ],
)
def test_other_content_types_are_refused(value: str | None) -> None:
    assert not is_json_content_type(value)
    with pytest.raises(MalformedRequest):
        read_json(request(b"{}", content_type=value))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"{'a': 1}",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1, "a": 2}',
        b"\xff{}",
        b"[" * 100_00 + b"]" * 100_00,
    ],
)
def test_malformed_json_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        parse_json(body)


def test_a_json_scalar_is_json() -> None:
    # Shape is the model's job (a 422), not the reader's.
    assert parse_json(b"42") == 42
