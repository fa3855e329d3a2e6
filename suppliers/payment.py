"""Client of the payment provider API (`PAYMENT_API_URL`). The outcome of a payment arrives later by
signed webhook; `get` and `list_for_booking` are for reconciliation when a webhook may be lost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

from booking.money import Money, amount_text
from suppliers.base import SupplierClient
from suppliers.models import Payment, Refund, Rejected, RejectionCode, Traveller

_PAYMENT = TypeAdapter(Payment)
_PAYMENTS = TypeAdapter(list[Payment])


class PaymentClient(SupplierClient):
    supplier = "payment"

    async def create(
        self,
        amount: Money,
        booking_id: str,
        callback_url: str,
        traveller: Traveller,
        *,
        idempotency_key: str,
        description: str | None = None,
    ) -> Payment:
        """Ask for a payment; it starts `pending` and resolves by webhook to `callback_url`."""
        body: dict[str, Any] = {
            "amount": amount_text(amount.amount),
            "currency": amount.currency,
            "bookingId": booking_id,
            "callbackUrl": callback_url,
            "traveller": traveller.to_wire(),
        }
        if description is not None:
            body["description"] = description
        return await self._call_ok("POST", "payments", _PAYMENT, json=body, idempotency_key=idempotency_key)

    async def get(self, payment_id: str) -> Payment | Rejected:
        """The payment's current status. `Rejected(payment_not_found)` for an unknown id."""
        return await self._read("payments", payment_id, Payment, RejectionCode.PAYMENT_NOT_FOUND)

    async def list_for_booking(self, booking_id: str) -> list[Payment]:
        """Every payment the provider holds for a booking, oldest first."""
        return await self._call_ok("GET", "payments", _PAYMENTS, params={"bookingId": booking_id})

    async def refund(
        self,
        payment_id: str,
        *,
        idempotency_key: str,
        amount: Decimal | None = None,
        reason: str | None = None,
    ) -> Refund | Rejected:
        """Refund (all that is left unless `amount`). Rejected: payment_not_found, payment_not_refundable
        (not succeeded, or already fully refunded), refund_exceeds_payment."""
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = amount_text(amount)
        if reason is not None:
            body["reason"] = reason
        return await self._call(
            "POST",
            f"payments/{quote(payment_id, safe='')}/refunds",
            Refund,
            json=body,
            idempotency_key=idempotency_key,
            business=(
                RejectionCode.PAYMENT_NOT_FOUND,
                RejectionCode.PAYMENT_NOT_REFUNDABLE,
                RejectionCode.REFUND_EXCEEDS_PAYMENT,
            ),
        )

    async def cancel(self, payment_id: str, *, idempotency_key: str | None = None) -> Payment | Rejected:
        """Stop a pending payment: it becomes `cancelled` and can no longer be paid; idempotent (a
        `cancelled` or `failed` payment answers as it is). Rejected: payment_not_found,
        payment_not_cancellable (it already took money: refund instead)."""
        return await self._call(
            "POST",
            f"payments/{quote(payment_id, safe='')}/cancel",
            Payment,
            idempotency_key=idempotency_key or f"cancel:{payment_id}",
            business=(RejectionCode.PAYMENT_NOT_FOUND, RejectionCode.PAYMENT_NOT_CANCELLABLE),
        )
