"""Money is a decimal string on the wire and never mixes currencies."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from booking import Money, total_of


def test_amount_is_a_two_decimal_string_on_the_wire():
    money = Money(amount=Decimal("1234.5"), currency="EUR")
    assert money.to_wire() == {"amount": "1234.50", "currency": "EUR"}
    assert Money.from_wire({"amount": "7", "currency": "EUR"}).amount == Decimal("7.00")


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": 12.5, "currency": "EUR"},
        {"amount": "1.234", "currency": "EUR"},
        {"amount": "-1.00", "currency": "EUR"},
        {"amount": "NaN", "currency": "EUR"},
        {"amount": "1.00", "currency": "eur"},
        {"amount": "1.00", "currency": "EURO"},
    ],
)
def test_refuses_floats_sub_cents_negatives_and_bad_currencies(payload):
    with pytest.raises(ValidationError):
        Money.model_validate(payload)


def test_total_of_sums_exactly_and_refuses_another_currency():
    prices = [Money(amount=Decimal("0.10"), currency="EUR")] * 3
    assert total_of(prices, "EUR") == Money(amount=Decimal("0.30"), currency="EUR")
    assert total_of([], "EUR").to_wire() == {"amount": "0.00", "currency": "EUR"}
    with pytest.raises(ValueError, match="cannot add USD to EUR"):
        total_of([Money(amount=Decimal("1"), currency="USD")], "EUR")


@pytest.mark.parametrize("amount", ["1e999999", "1" * 40, "-1e999999"])
def test_an_amount_too_large_for_cents_is_a_validation_error_not_a_crash(amount):
    # decimal.InvalidOperation from quantize escaped pydantic; a payment event raised by an operator with
    # such an amount crashed the booking orchestrator before it could undo anything.
    with pytest.raises(ValidationError):
        Money(amount=amount, currency="EUR")
