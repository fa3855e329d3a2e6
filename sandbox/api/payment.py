"""Payment provider API (`/payment`): create a payment, read its status, refund, cancel, checkout page.

A payment resolves by itself `SANDBOX_PAYMENT_DELAY_SECONDS` after creation (the provider worker
does it and sends the webhook); `+decline` resolves it `failed`, `+nopay` never resolves it.
"""

from __future__ import annotations

import html
import time
from decimal import Decimal

from aiohttp import web

from sandbox import tags
from sandbox.api.common import (
    Route,
    fingerprint,
    idempotency_key,
    json_response,
    new_reference,
    query_param,
    read_body,
    replayed,
    services,
)
from sandbox.problems import ProblemError
from sandbox.store import PaymentRow, RefundRow, Store
from sandbox.wire import Payment, PaymentRequest, Refund, RefundRequest, format_amount, now_iso


def refund_view(r: RefundRow, currency: str) -> Refund:
    return Refund.model_validate(
        {
            "refundId": r.refund_id,
            "paymentId": r.payment_id,
            "amount": r.amount,
            "currency": currency,
            "reason": r.reason,
            "status": "succeeded",
            "createdAt": r.created_at,
        }
    )


def payment_view(store: Store, p: PaymentRow) -> Payment:
    refunds = store.refunds(p.payment_id)
    refunded = sum((Decimal(r.amount) for r in refunds), Decimal("0"))
    return Payment.model_validate(
        {
            "paymentId": p.payment_id,
            "bookingId": p.booking_id,
            "amount": p.amount,
            "currency": p.currency,
            "status": p.status,
            "checkoutUrl": p.checkout_url,
            "failureReason": p.failure_reason,
            "refundedAmount": format_amount(refunded),
            "refunds": [refund_view(r, p.currency) for r in refunds],
            "createdAt": p.created_at,
            "updatedAt": p.updated_at,
        }
    )


def find_payment(store: Store, payment_id: str) -> PaymentRow:
    """The payment a path names; an unknown id is 404."""
    found = store.payment(payment_id)
    if found is None:
        raise ProblemError(404, "payment_not_found", f"no payment '{payment_id}'")
    return found


async def create(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    key = idempotency_key(request)
    body = await read_body(request, PaymentRequest)
    digest = fingerprint(body)
    existing = replayed(svc.store.payment_by_key(key), digest)
    if existing is not None:
        return json_response(payment_view(svc.store, existing), 200)
    found = tags.tags_of(body.traveller.email)
    payment_id = new_reference("pay_", 12)
    now = now_iso()
    row = PaymentRow(
        payment_id=payment_id,
        idempotency_key=key,
        fingerprint=digest,
        booking_id=body.booking_id,
        amount=format_amount(body.amount),
        currency=body.currency,
        email=body.traveller.email.lower(),
        callback_url=body.callback_url,
        checkout_url=f"{request.scheme}://{request.host}/payment/checkout/{payment_id}",
        status="pending",
        outcome="failed" if tags.DECLINE in found else "succeeded",
        failure_reason=None,
        # +nopay: the traveller never pays, so nothing resolves and no webhook is ever sent.
        resolve_at=None if tags.NOPAY in found else time.time() + svc.settings.payment_delay_seconds,
        created_at=now,
        updated_at=now,
    )
    svc.store.insert_payment(row)
    svc.provider.wake()
    return json_response(payment_view(svc.store, row), 201)


async def get(request: web.Request) -> web.StreamResponse:
    store = services(request).store
    return json_response(payment_view(store, find_payment(store, request.match_info["paymentId"])))


async def list_for_booking(request: web.Request) -> web.StreamResponse:
    store = services(request).store
    booking_id = query_param(request, "bookingId")
    return json_response([payment_view(store, p) for p in store.payments(booking_id)])


async def refund(request: web.Request) -> web.StreamResponse:
    store = services(request).store
    payment = find_payment(store, request.match_info["paymentId"])
    key = idempotency_key(request)
    # An empty body means "refund whatever is left".
    body = await read_body(request, RefundRequest) if request.can_read_body else RefundRequest()
    digest = fingerprint(body)
    existing = replayed(store.refund_by_key(payment.payment_id, key), digest)
    if existing is not None:
        return json_response(refund_view(existing, payment.currency), 200)
    if payment.status != "succeeded":
        raise ProblemError(
            409,
            "payment_not_refundable",
            f"payment is {payment.status}; only a succeeded payment can be refunded",
        )
    paid = Decimal(payment.amount)
    remaining = paid - sum((Decimal(r.amount) for r in store.refunds(payment.payment_id)), Decimal("0"))
    amount = remaining if body.amount is None else body.amount
    if amount > remaining:
        raise ProblemError(
            422,
            "refund_exceeds_payment",
            f"at most {format_amount(remaining)} {payment.currency} is left to refund",
        )
    now = now_iso()
    row = RefundRow(
        refund_id=new_reference("re_", 12),
        payment_id=payment.payment_id,
        idempotency_key=key,
        fingerprint=digest,
        amount=format_amount(amount),
        reason=body.reason,
        created_at=now,
    )
    with store.transaction():
        store.insert_refund(row)
        if amount == remaining:
            store.set_payment_status(payment.payment_id, "refunded", None, now)
    return json_response(refund_view(row, payment.currency), 201)


async def cancel(request: web.Request) -> web.StreamResponse:
    store = services(request).store
    payment = find_payment(store, request.match_info["paymentId"])
    # As card providers do: a payment nobody wants any more can no longer be paid. Idempotent; a
    # payment that already took money cannot be cancelled (refund it); a failed one has nothing to stop.
    if payment.status == "pending":
        store.set_payment_status(payment.payment_id, "cancelled", None, now_iso())
        payment = find_payment(store, payment.payment_id)
    elif payment.status not in ("cancelled", "failed"):
        raise ProblemError(409, "payment_not_cancellable", f"payment is {payment.status}; refund it instead")
    return json_response(payment_view(store, payment))


async def checkout(request: web.Request) -> web.StreamResponse:
    store = services(request).store
    p = find_payment(store, request.match_info["paymentId"])
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sandbox checkout</title></head><body>"
        f"<h1>Sandbox checkout</h1><p>Payment {html.escape(p.payment_id)} for booking "
        f"{html.escape(p.booking_id)}: <strong>{html.escape(p.amount)} {html.escape(p.currency)}</strong></p>"
        f"<p>Status: {html.escape(p.status)}</p><p>This is a sandbox; no money moves.</p></body></html>"
    )
    return web.Response(text=page, content_type="text/html")


TAG = "payment"
ROUTES = [
    Route(
        "POST",
        "/payment/payments",
        create,
        "Create a payment (resolves later, by webhook)",
        TAG,
        body=PaymentRequest,
        response=Payment,
        success=201,
        errors=(400, 415, 422),
        idempotent_create=True,
    ),
    Route(
        "GET",
        "/payment/payments",
        list_for_booking,
        "Payments of a booking (reconciliation)",
        TAG,
        response=Payment,
        response_is_list=True,
        errors=(400,),
        query=(("bookingId", True, "the booking the payment is for"),),
    ),
    Route(
        "GET",
        "/payment/payments/{paymentId}",
        get,
        "A payment's status (reconciliation)",
        TAG,
        response=Payment,
        errors=(404,),
    ),
    Route(
        "POST",
        "/payment/payments/{paymentId}/refunds",
        refund,
        "Refund a succeeded payment",
        TAG,
        body=RefundRequest,
        response=Refund,
        success=201,
        errors=(400, 404, 409, 415, 422),
        idempotent_create=True,
    ),
    Route(
        "POST",
        "/payment/payments/{paymentId}/cancel",
        cancel,
        "Cancel a pending payment; idempotent",
        TAG,
        response=Payment,
        errors=(404, 409),
    ),
    Route(
        "GET",
        "/payment/checkout/{paymentId}",
        checkout,
        "The traveller's checkout page (HTML)",
        TAG,
        errors=(404,),
    ),
]
