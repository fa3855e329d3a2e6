"""Idempotency keys: what a key may be, the id it maps to, and the request fingerprint."""

from __future__ import annotations

import pytest

from clients.errors import InvalidIdempotencyKey
from clients.idempotency import (
    booking_id_for_key,
    check_key,
    is_booking_id,
    new_booking_id,
)


@pytest.mark.parametrize("key", ["a", "x" * 255, "order-42/retry:1", "!~"])
def test_visible_ascii_keys_of_1_to_255_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\t", "naïve", "new\nline", "\x7f"])
def test_other_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        check_key(key)


def test_a_key_always_maps_to_the_same_booking_id_and_keys_do_not_share_one() -> None:
    assert booking_id_for_key("k1") == booking_id_for_key("k1")
    assert booking_id_for_key("k1") != booking_id_for_key("k2")
    assert is_booking_id(booking_id_for_key("k1"))


def test_random_ids_are_booking_ids_and_differ() -> None:
    first, second = new_booking_id(), new_booking_id()
    assert first != second and is_booking_id(first) and is_booking_id(second)


@pytest.mark.parametrize(
    "value", ["no-such-booking", "bk_", "bk_" + "g" * 32, "BK_" + "0" * 32, "bk_" + "0" * 33, "refund-pay_1"]
)
def test_other_strings_are_not_booking_ids(value: str) -> None:
    assert not is_booking_id(value)
