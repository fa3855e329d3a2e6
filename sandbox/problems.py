"""Errors as RFC 9457 problem details, raised anywhere and answered in one place (the middleware).

Every answer that is not a success carries a stable `code`; clients switch on it, not on text.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from sandbox.wire import FieldError

PROBLEM_TYPE = "urn:sandbox:problem:"

_TITLES = {
    "malformed_request": "Malformed request",
    "idempotency_key_required": "Idempotency-Key required",
    "invalid_idempotency_key": "Invalid Idempotency-Key",
    "idempotency_key_reused": "Idempotency-Key reused with another request",
    "not_found": "Not found",
    "booking_not_found": "Booking not found",
    "payment_not_found": "Payment not found",
    "conference_not_found": "Conference not found",
    "method_not_allowed": "Method not allowed",
    "sold_out": "Sold out",
    "payment_not_refundable": "Payment not refundable",
    "payment_not_cancellable": "Payment not cancellable",
    "payload_too_large": "Payload too large",
    "unsupported_media_type": "Unsupported media type",
    "validation_error": "Validation error",
    "no_route": "No route",
    "refund_exceeds_payment": "Refund exceeds payment",
    "rate_limited": "Too many requests",
    "unavailable": "Service unavailable",
    "internal_error": "Internal error",
}


class ProblemError(Exception):
    """An answer other than success; raise it from a handler, the middleware renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE + self.code,
            "title": _TITLES.get(self.code, self.code.replace("_", " ").capitalize()),
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = [e.model_dump(by_alias=True) for e in self.errors]
        return body

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps(self.body()),
            content_type="application/problem+json",
            headers=self.headers,
        )


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path or "body"


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as `{field, message}` pairs, fields spelled as on the wire."""
    return [FieldError(field=_field_path(tuple(e["loc"])), message=e["msg"]) for e in exc.errors()]


def validation_problem(errors: list[FieldError]) -> ProblemError:
    fields = ", ".join(e.field for e in errors)
    return ProblemError(422, "validation_error", f"invalid fields: {fields}", errors=errors)
