"""Payment activities: request a payment, check its status or list the booking's payments
(reconciliation), cancel it when the booking no longer wants it, refund it."""

from __future__ import annotations

import logging

import suppliers
from activities import suppliers_map as to
from activities.clients import SupplierClients
from booking.activity_io import (
    BookingPayments,
    CancelPaymentOrder,
    CheckPaymentOrder,
    ListPaymentsOrder,
    PaymentOrder,
    PaymentState,
    RefundOrder,
    RefundOutcome,
)
from booking.errors import SupplierProtocolError

log = logging.getLogger(__name__)


async def request_payment(request: PaymentOrder, clients: SupplierClients) -> PaymentState:
    created = await clients.payment.create(
        request.amount,
        request.booking_id,
        request.callback_url,
        to.traveller(request.traveller),
        idempotency_key=request.idempotency_key,
        description=request.description,
    )
    log.info(
        "payment %s requested for booking %s (%s)", created.payment_id, request.booking_id, request.amount
    )
    return to.payment(created)


async def check_payment(check: CheckPaymentOrder, clients: SupplierClients) -> PaymentState:
    result = await clients.payment.get(check.payment_id)
    if isinstance(result, suppliers.Rejected):
        # The app only checks payments it created: an unknown id is a bug somewhere, not an outcome.
        raise SupplierProtocolError("payment", f"payment {check.payment_id} not found")
    return to.payment(result)


async def list_payments(listing: ListPaymentsOrder, clients: SupplierClients) -> BookingPayments:
    found = await clients.payment.list_for_booking(listing.booking_id)
    return BookingPayments(payments=[to.payment(p) for p in found])


async def cancel_payment(cancel: CancelPaymentOrder, clients: SupplierClients) -> PaymentState:
    """Stop a payment the booking no longer wants. Answers the provider's state after it: `cancelled`
    (or `failed`), or `succeeded` / `refunded` when the money came first (then it is a refund)."""
    result = await clients.payment.cancel(cancel.payment_id)
    if (
        isinstance(result, suppliers.Rejected)
        and result.code is suppliers.RejectionCode.PAYMENT_NOT_CANCELLABLE
    ):
        result = await clients.payment.get(cancel.payment_id)
    if isinstance(result, suppliers.Rejected):
        raise SupplierProtocolError("payment", f"payment {cancel.payment_id} not found")
    log.info("payment %s cancel asked: %s", cancel.payment_id, result.status)
    return to.payment(result)


async def refund_payment(refund: RefundOrder, clients: SupplierClients) -> RefundOutcome:
    result = await clients.payment.refund(
        refund.payment_id, idempotency_key=refund.idempotency_key, reason=refund.reason
    )
    if isinstance(result, suppliers.Rejected):
        # Not succeeded, already refunded, unknown: nothing (more) to give back.
        log.info("payment %s not refunded: %s", refund.payment_id, result.code)
        return RefundOutcome(payment_id=refund.payment_id, refunded=False, detail=result.code.value)
    log.info("payment %s refunded (%s)", refund.payment_id, result.refund_id)
    return RefundOutcome(
        payment_id=refund.payment_id, refunded=True, refund_id=result.refund_id, amount=result.money
    )
