"""Control and inspection API (`/_sandbox`): what tests use to steer the sandbox and to prove
that nothing was left behind. The two listing shapes of booking-api.md are contract.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from sandbox.api.common import Route, json_response, query_param, read_body, services
from sandbox.api.payment import find_payment
from sandbox.faults import APIS
from sandbox.problems import ProblemError
from sandbox.store import BookingRow, DeliveryRow, PaymentRow, RequestRow, Store
from sandbox.wire import (
    BookingListItem,
    Delivery,
    ExpenseListItem,
    FaultSettings,
    Health,
    ManualWebhook,
    PaymentListItem,
    ReceivedRequest,
    WebhookMode,
    format_amount,
    now_iso,
)

TAG = "sandbox control"
_SUPPLIERS = ("conference", "airline", "rail", "hotel")
Item = TypeVar("Item", bound=BaseModel)
Row = TypeVar("Row")


async def health(request: web.Request) -> web.StreamResponse:
    return json_response(Health(status="ok"))


async def bookings(request: web.Request) -> web.StreamResponse:
    email = query_param(request, "email")
    rows = services(request).store.bookings_of(email, _SUPPLIERS)
    return json_response(
        [
            BookingListItem.model_validate(
                {
                    "supplier": r.supplier,
                    "reference": r.reference,
                    "status": r.status,
                    "idempotencyKey": r.idempotency_key,
                }
            )
            for r in rows
        ]
    )


def _payment_item(p: PaymentRow) -> PaymentListItem:
    return PaymentListItem.model_validate(
        {
            "paymentId": p.payment_id,
            "bookingId": p.booking_id,
            "amount": p.amount,
            "currency": p.currency,
            "status": p.status,
        }
    )


def _expense_item(r: BookingRow) -> ExpenseListItem:
    return ExpenseListItem.model_validate(
        {"reference": r.reference, "bookingId": r.booking_id, "status": r.status, "total": r.body["total"]}
    )


def _delivery(d: DeliveryRow) -> Delivery:
    return Delivery(
        webhook_id=d.webhook_id,
        payment_id=d.payment_id,
        type=d.event_type,
        status=d.status,  # type: ignore[arg-type]
        attempts=d.attempts,
        last_status=d.last_status,
        last_error=d.last_error,
        url=d.url,
        next_attempt_at=None if d.next_attempt_at is None else datetime.fromtimestamp(d.next_attempt_at, UTC),
    )


def _listing(
    path: str,
    summary: str,
    item: type[Item],
    by: str,
    select: Callable[[Store, str | None], list[Row]],
    view: Callable[[Row], Item],
) -> Route:
    """An inspection list, all of it or only the rows whose `by` equals the query parameter."""

    async def handle(request: web.Request) -> web.StreamResponse:
        rows = select(services(request).store, request.query.get(by) or None)
        return json_response([view(r) for r in rows])

    return Route(
        "GET",
        path,
        handle,
        summary,
        TAG,
        response=item,
        response_is_list=True,
        query=((by, False, "filter"),),
    )


async def requests(request: web.Request) -> web.StreamResponse:
    key_prefix = request.query.get("idempotencyKeyPrefix") or None
    trace_id = request.query.get("traceId") or None
    rows = services(request).store.requests(key_prefix, trace_id)
    return json_response([_received(r) for r in rows])


def _received(r: RequestRow) -> ReceivedRequest:
    return ReceivedRequest(
        api=r.api,
        method=r.method,
        path=r.path,
        idempotency_key=r.idempotency_key,
        traceparent=r.traceparent,
        received_at=r.received_at,
    )


async def get_faults(request: web.Request) -> web.StreamResponse:
    current = services(request).faults.current()
    return json_response({api: s.model_dump(mode="json", by_alias=True) for api, s in current.items()})


async def put_faults(request: web.Request) -> web.StreamResponse:
    api = request.match_info["api"]
    if api not in APIS:
        raise ProblemError(404, "not_found", f"no API '{api}'; one of {', '.join(APIS)}")
    settings = await read_body(request, FaultSettings)
    services(request).faults.set(api, settings)
    return json_response(settings)


async def clear_faults(request: web.Request) -> web.StreamResponse:
    services(request).faults.clear()
    return web.Response(status=204)


async def get_mode(request: web.Request) -> web.StreamResponse:
    return json_response(services(request).provider.mode())


async def put_mode(request: web.Request) -> web.StreamResponse:
    mode = await read_body(request, WebhookMode)
    services(request).provider.set_mode(mode)
    return json_response(mode)


async def manual_webhook(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    payment = find_payment(svc.store, request.match_info["paymentId"])
    body = await read_body(request, ManualWebhook)
    status = "succeeded" if body.type == "payment.succeeded" else "failed"
    reason = (body.reason or "card_declined") if status == "failed" else None
    with svc.store.transaction():
        if body.apply_status and payment.status == "pending":
            svc.store.set_payment_status(payment.payment_id, status, reason, now_iso())
        webhook_id = svc.provider.schedule(
            payment,
            body.type,
            at=time.time() + body.delay_seconds,
            copies=body.copies,
            webhook_id=body.webhook_id,
            reason=reason,
            amount=None if body.amount is None else format_amount(body.amount),
            currency=body.currency,
        )
    svc.provider.wake()
    scheduled = [d for d in svc.store.deliveries(payment.payment_id) if d.webhook_id == webhook_id]
    return json_response({"webhookId": webhook_id, "scheduled": len(scheduled)}, 202)


ROUTES = [
    Route("GET", "/_sandbox/health", health, "Liveness", TAG, response=Health),
    Route(
        "GET",
        "/_sandbox/bookings",
        bookings,
        "Every supplier booking of a traveller (contract)",
        TAG,
        response=BookingListItem,
        response_is_list=True,
        errors=(400,),
        query=(("email", True, "traveller email, any case"),),
    ),
    _listing(
        "/_sandbox/payments",
        "Payments, optionally of one booking (contract)",
        PaymentListItem,
        "bookingId",
        Store.payments,
        _payment_item,
    ),
    _listing(
        "/_sandbox/expenses",
        "Expense reports, optionally of one booking",
        ExpenseListItem,
        "bookingId",
        lambda store, booking_id: store.bookings_for_booking_id("expense", booking_id),
        _expense_item,
    ),
    _listing(
        "/_sandbox/webhooks",
        "Webhook deliveries and their attempts",
        Delivery,
        "paymentId",
        Store.deliveries,
        _delivery,
    ),
    Route(
        "GET",
        "/_sandbox/requests",
        requests,
        "Supplier requests received, with their traceparent, in order",
        TAG,
        response=ReceivedRequest,
        response_is_list=True,
        query=(
            ("idempotencyKeyPrefix", False, "only requests whose Idempotency-Key starts with this"),
            ("traceId", False, "only requests whose traceparent names this trace id"),
        ),
    ),
    Route("GET", "/_sandbox/faults", get_faults, "Fault settings per API", TAG),
    Route(
        "PUT",
        "/_sandbox/faults/{api}",
        put_faults,
        "Set one API's faults",
        TAG,
        body=FaultSettings,
        response=FaultSettings,
        errors=(400, 404, 415, 422),
    ),
    Route("DELETE", "/_sandbox/faults", clear_faults, "Clear every fault", TAG, success=204),
    Route(
        "GET",
        "/_sandbox/webhook-mode",
        get_mode,
        "How automatic webhooks are delivered",
        TAG,
        response=WebhookMode,
    ),
    Route(
        "PUT",
        "/_sandbox/webhook-mode",
        put_mode,
        "Set how automatic webhooks are delivered",
        TAG,
        body=WebhookMode,
        response=WebhookMode,
        errors=(400, 415, 422),
    ),
    Route(
        "POST",
        "/_sandbox/payments/{paymentId}/webhooks",
        manual_webhook,
        "Send a webhook by hand",
        TAG,
        body=ManualWebhook,
        success=202,
        errors=(400, 404, 415, 422),
    ),
]
