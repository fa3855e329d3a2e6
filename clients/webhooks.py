"""`POST /api/webhooks/payments`: the payment provider's signed callback (anonymous, Standard Webhooks).

Verify before parsing; then raise the payment into its booking. A payment for a booking that has
ended is either a redelivery (the same payment confirmed it: nothing to do) or money the booking can
no longer take: a `payment.succeeded` then starts `late_payment_refund` once per payment.
"""

import logging
import re
from typing import Any, Literal, cast

import azure.durable_functions as df
import azure.functions as func
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, ValidationError

import telemetry
from booking import PAYMENT_FAILED, PAYMENT_SUCCEEDED, BookingStatus, PaymentEvent, refund_instance_id
from booking.errors import BookingNotFound
from booking.orchestration import LATE_PAYMENT_REFUND_ORCHESTRATOR
from booking.settings import get_settings
from clients.blueprint import endpoint
from clients.body import check_size, parse_json
from clients.dedupe import recent_webhooks
from clients.durable import raise_event, status_of
from clients.errors import DurableUnavailable, InstanceGone, InstanceMissing, InvalidRequestBody
from clients.idempotency import is_booking_id
from clients.responses import json_response
from clients.signatures import verify
from clients.views import current_view, is_booking
from suppliers.base import joined_trace

logger = logging.getLogger(__name__)
# A direct call (a test) may pass no context; the runtime always passes one.
_NO_CONTEXT = cast(func.Context, None)

# A decimal string as the contract writes money ("1234.50"). Checked here, before the Decimal parse:
# "1e999999" is a valid Decimal that overflows the context when booking/ rounds it to cents.
_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")


class _Envelope(BaseModel):
    """Only the shape: the payment itself is validated as booking's `PaymentEvent`."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["payment.succeeded", "payment.failed"]
    data: dict[str, Any]


def _payment_event(webhook_id: str, document: Any) -> PaymentEvent:
    try:
        envelope = _Envelope.model_validate(document)
        booking_id = envelope.data.get("bookingId")
        if not isinstance(booking_id, str) or not booking_id:
            raise InvalidRequestBody("data.bookingId is missing.")
        amount = envelope.data.get("amount")
        if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
            # Money is a decimal string on the wire: a JSON number may already have lost the cents.
            raise InvalidRequestBody("data.amount must be a decimal string.")
        return PaymentEvent.model_validate({**envelope.data, "webhookId": webhook_id, "type": envelope.type})
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False)})
        raise InvalidRequestBody("The payment event is malformed: " + ", ".join(fields) + ".") from None


def _ok(outcome: str) -> func.HttpResponse:
    return json_response({"received": True, "outcome": outcome}, 200)


async def _ended(client: df.DurableOrchestrationClient, event: PaymentEvent, booking_status: Any) -> str:
    """What to do with a payment for a booking that takes no more events."""
    view = current_view(booking_status)
    if view.status == BookingStatus.CONFIRMED and view.payment.payment_id == event.payment_id:
        return "duplicate"
    if not event.succeeded:
        return "ignored"
    refund_id = refund_instance_id(event.payment_id)
    if await status_of(client, refund_id):
        return "refund-already-started"
    try:
        await client.start_new(LATE_PAYMENT_REFUND_ORCHESTRATOR, refund_id, event.to_wire())
    except Exception as exc:
        # A concurrent delivery of the same payment won the start: the refund exists, once.
        if not await status_of(client, refund_id):
            raise DurableUnavailable(f"start_new failed: {type(exc).__name__}") from exc
        return "refund-already-started"
    logger.info("booking %s: late payment %s, refund started", event.booking_id, event.payment_id)
    return "refund-started"


@endpoint("webhooks/payments", "POST", auth_level=func.AuthLevel.ANONYMOUS)
async def payment_webhook(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, context: func.Context = _NO_CONTEXT
) -> func.HttpResponse:
    # A span in the request's own trace (a provider sends none of the booking's), named by booking.id.
    with (
        joined_trace(context.trace_context if context is not None else None),
        telemetry.scope(
            function="payment_webhook", invocation_id=context.invocation_id if context is not None else None
        ),
        telemetry.span("payment webhook"),
    ):
        return await _payment_webhook(req, client)


async def _payment_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = check_size(req)
    secret = get_settings().payment_webhook_secret.get_secret_value()
    webhook_id = verify(secret, req.headers, body)
    if recent_webhooks.seen(webhook_id):
        return _ok("duplicate")
    event = _payment_event(webhook_id, parse_json(body))

    booking_id = event.booking_id or ""
    if not is_booking_id(booking_id):
        raise BookingNotFound(booking_id)
    with telemetry.scope(booking_id=booking_id, instance_id=booking_id):
        trace.get_current_span().set_attribute("booking.id", booking_id)
        return await _raise_payment(client, webhook_id, event, booking_id)


async def _raise_payment(
    client: df.DurableOrchestrationClient, webhook_id: str, event: PaymentEvent, booking_id: str
) -> func.HttpResponse:
    status = await status_of(client, booking_id)
    if not is_booking(status):
        raise BookingNotFound(booking_id)

    outcome = "raised"
    if current_view(status).status.is_final:
        outcome = await _ended(client, event, status)
    else:
        name = PAYMENT_SUCCEEDED if event.succeeded else PAYMENT_FAILED
        try:
            # The event as a producer span under the webhook's, as DTFx traces a client's raised event.
            with telemetry.span(f"raise event {name}", trace.SpanKind.PRODUCER):
                await raise_event(client, booking_id, name, event.to_wire())
        except InstanceMissing:
            raise BookingNotFound(booking_id) from None
        except InstanceGone:
            outcome = await _ended(client, event, await status_of(client, booking_id))
    recent_webhooks.remember(webhook_id)
    logger.info("booking %s: webhook %s %s (%s)", booking_id, webhook_id, event.type, outcome)
    return _ok(outcome)
