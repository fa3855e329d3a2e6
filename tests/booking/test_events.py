"""Event payloads arrive as objects or as JSON strings (double encoding); both parse alike."""

import json

import pytest
from pydantic import ValidationError

from booking import PaymentEvent, parse_event_payload


def test_double_encoded_payload_parses_like_an_object():
    event = {"webhookId": "msg_1", "paymentId": "pay_1", "amount": "10.00", "currency": "EUR"}
    once = json.dumps(event)
    assert parse_event_payload(event) == event
    assert parse_event_payload(once) == event
    assert parse_event_payload(json.dumps(once)) == event
    assert PaymentEvent.model_validate(parse_event_payload(once)).money.to_wire() == {
        "amount": "10.00",
        "currency": "EUR",
    }


def test_garbage_is_an_empty_payload():
    assert parse_event_payload("null") == {}
    assert parse_event_payload("not json") == {}
    assert parse_event_payload(None) == {}


def test_a_payment_event_amount_follows_the_money_rules():
    base = {"webhookId": "msg_1", "paymentId": "pay_1", "currency": "EUR"}
    with pytest.raises(ValidationError):
        PaymentEvent.model_validate({**base, "amount": "1.234"})
    with pytest.raises(ValidationError):
        PaymentEvent.model_validate({**base, "amount": 1.5})
    assert PaymentEvent.model_validate({**base, "amount": "1.5"}).to_wire()["amount"] == "1.50"
