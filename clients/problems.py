"""The one place where errors cross the HTTP edge: exceptions in, RFC 9457 problem details out.

Every client function runs inside `@problem_boundary`; handlers raise domain errors (booking.errors)
or edge errors (clients.errors, drawn there) and never build an error
response themselves. Nothing from a request body is logged here: exception texts may echo input
values (the traveller's email), so a 5xx logs the type and frames, never the message.
"""

from __future__ import annotations

import functools
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec

import azure.functions as func

from booking.errors import (
    BookingAlreadyFinal,
    BookingNotFound,
    ConfigurationError,
    IdempotencyKeyReused,
    SupplierError,
)
from clients.errors import (
    DurableUnavailable,
    FieldError,
    InvalidFields,
    InvalidIdempotencyKey,
    InvalidRequestBody,
    InvalidSignature,
    MalformedRequest,
    PayloadTooLarge,
    QueryError,
)
from clients.idempotency import is_booking_id

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "urn:conference-trips:problem:"


@dataclass(frozen=True)
class Problem:
    status: int
    slug: str
    title: str
    detail: str
    errors: Sequence[FieldError] = field(default_factory=tuple)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": _TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            doc["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return doc

    def response(self) -> func.HttpResponse:
        return func.HttpResponse(
            body=json.dumps(self.body()),
            status_code=self.status,
            headers={"Content-Type": PROBLEM_JSON, "Cache-Control": "no-store", **self.headers},
        )


def to_problem(exc: BaseException) -> Problem:
    """Map an exception to the problem the API answers with (the only such mapping)."""
    match exc:
        case InvalidFields():
            noun = "field is" if len(exc.errors) == 1 else "fields are"
            detail = f"{len(exc.errors)} {noun} invalid."
            return Problem(422, "validation", "The request is not valid", detail, exc.errors)
        case MalformedRequest() | InvalidRequestBody():
            return Problem(400, "malformed-request", "The request could not be read", str(exc))
        case InvalidIdempotencyKey():
            return Problem(400, "invalid-idempotency-key", "Invalid Idempotency-Key header", str(exc))
        case QueryError():
            return Problem(400, "invalid-query", "Invalid query parameters", str(exc), exc.errors)
        case PayloadTooLarge():
            return Problem(413, "payload-too-large", "The request body is too large", str(exc))
        case InvalidSignature():
            # The reason stays in the log: telling a forger which check failed helps only the forger.
            detail = "The webhook could not be verified."
            return Problem(401, "invalid-signature", "Invalid webhook signature", detail)
        case BookingNotFound():
            # Echo only an id of our own shape: anything else is the caller's text (control characters,
            # markup, traversal attempts) and has no business in our answer.
            known_shape = is_booking_id(exc.booking_id)
            detail = f"There is no booking {exc.booking_id}." if known_shape else "There is no such booking."
            return Problem(404, "booking-not-found", "Booking not found", detail)
        case BookingAlreadyFinal():
            detail = f"Booking {exc.booking_id} is {exc.status}."
            return Problem(409, "booking-final", "The booking has already ended", detail)
        case IdempotencyKeyReused():
            detail = "This Idempotency-Key was already used with a different request body; use a new key."
            return Problem(422, "idempotency-key-reused", "Idempotency-Key already used", detail)
        case SupplierError() | DurableUnavailable():
            retry = {"Retry-After": "5"}
            return Problem(503, "unavailable", "Service unavailable", "Try again later.", headers=retry)
        case ConfigurationError():
            return Problem(500, "internal", "Internal error", "The service is not configured correctly.")
    return Problem(500, "internal", "Internal error", "Something went wrong on our side.")


_P = ParamSpec("_P")
_Handler = Callable[_P, Awaitable[func.HttpResponse]]


def problem_boundary(handler: _Handler[_P]) -> _Handler[_P]:
    """Run a client function and answer any exception it raises as a problem document."""

    @functools.wraps(handler)
    async def guarded(*args: _P.args, **kwargs: _P.kwargs) -> func.HttpResponse:
        try:
            return await handler(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - this is the edge: nothing may escape as a stack trace
            problem = to_problem(exc)
            _log(handler.__name__, exc, problem)
            return problem.response()

    return guarded


def _log(where: str, exc: BaseException, problem: Problem) -> None:
    if problem.status >= 500:
        # Frames without the message: an exception's text may carry request data.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("%s failed with %s (%d)\n%s", where, type(exc).__name__, problem.status, frames)
    elif isinstance(exc, InvalidSignature | ConfigurationError):
        logger.warning("%s refused a request: %s (%s)", where, type(exc).__name__, exc)
    else:
        logger.info("%s answered %d %s", where, problem.status, problem.slug)
