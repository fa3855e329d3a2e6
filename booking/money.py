"""Money: a Decimal amount with an ISO 4217 currency, a decimal string on the wire ("1234.50").

Floats never touch money; sums refuse to mix currencies. These are the app's money primitives, defined
once: the booking domain and the supplier clients (suppliers/models.py) both use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from booking.wire import WireModel

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")]
_CENTS = Decimal("0.01")


def amount_text(value: Decimal) -> str:
    """An amount as its wire text: two decimals, no exponent ("1234.50")."""
    return format(value.quantize(_CENTS, rounding=ROUND_HALF_EVEN), "f")


def _no_floats(value: object) -> object:
    # A float has already lost the cents; money must arrive as a string (or int/Decimal from code).
    if isinstance(value, float):
        raise ValueError("money amounts are decimal strings, not floats")
    return value


def _at_most_cents(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    try:
        cents = value.quantize(_CENTS)
    except InvalidOperation:
        # Too many digits to hold in cents (e.g. "1e999999"): decimal raises its own error, which pydantic
        # would not turn into a validation error, so the caller would see a crash instead of bad input.
        raise ValueError("amount is too large") from None
    if value != cents:
        raise ValueError("amount has more than two decimals")
    return cents


# Every amount in the domain (prices, totals, payment events): a non-negative Decimal with at most
# cents, never a float, written as a two-decimal string.
Amount = Annotated[
    Decimal,
    BeforeValidator(_no_floats),
    Field(ge=0, description='decimal string with two decimals, e.g. "1234.50"'),
    AfterValidator(_at_most_cents),
    PlainSerializer(amount_text, return_type=str, when_used="json"),
]


class Money(WireModel):
    """An amount of one currency; on the wire `{"amount": "1234.50", "currency": "EUR"}`."""

    amount: Amount
    currency: CurrencyCode

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __str__(self) -> str:
        return f"{amount_text(self.amount)} {self.currency}"


def total_of(prices: Iterable[Money], currency: str) -> Money:
    """Sum prices of one currency (zero when there are none); a price in another currency is refused."""
    total = Money(amount=Decimal("0.00"), currency=currency)
    for price in prices:
        total = total + price
    return total
