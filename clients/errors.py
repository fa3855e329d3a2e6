"""What the HTTP functions raise themselves; `clients.problems.to_problem` answers each in one place.

Domain errors (booking.errors: not found, already final, a supplier down, …) cross this layer as
they are; these are the edge's own, about the request and about the Durable client calls.

    EdgeError
    ├── PayloadTooLarge         the body is over the cap                          (413)
    ├── MalformedRequest        not JSON, not UTF-8, or not application/json      (400)
    ├── InvalidRequestBody      JSON of the wrong shape where that is a 400 (the webhook)
    ├── InvalidFields           JSON whose fields are invalid, every one named    (422)
    ├── QueryError              invalid query-string parameters, every one named  (400)
    ├── InvalidIdempotencyKey   not one key of 1–255 visible ASCII characters     (400; also a ValueError)
    ├── InvalidSignature        the webhook is not provably the provider's        (401)
    ├── InstanceMissing         no orchestration with that id (a handler answers it)
    ├── InstanceGone            the orchestration has ended: it takes no events   (a handler answers it)
    └── DurableUnavailable      the management API or its storage did not answer  (503)

`FieldError` is not an exception: it is one named field of `InvalidFields` and `QueryError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class EdgeError(Exception):
    """Base of every exception the HTTP functions raise themselves."""


class PayloadTooLarge(EdgeError):
    """The body is over the 64 KiB the API accepts (413)."""


class MalformedRequest(EdgeError):
    """Not JSON, not UTF-8, or not sent as application/json (400)."""


class InvalidRequestBody(EdgeError):
    """A body that is JSON but not the right shape, where shape errors are a 400 (the webhook)."""


class InvalidFields(EdgeError):
    """The request body is JSON but some fields are invalid (422, every field listed)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("invalid fields: " + ", ".join(e.field for e in errors))
        self.errors = tuple(errors)


class QueryError(EdgeError):
    """A query-string parameter is invalid (400, with the fields listed)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("invalid query parameters: " + ", ".join(e.field for e in errors))
        self.errors = tuple(errors)


class InvalidIdempotencyKey(EdgeError, ValueError):
    """The Idempotency-Key header is not one key of 1–255 visible ASCII characters without a comma."""


class InvalidSignature(EdgeError):
    """The request is not provably from the payment provider (or is outside the time window)."""


class InstanceMissing(EdgeError):
    """No instance with that id (404)."""


class InstanceGone(EdgeError):
    """The instance has finished (410): it takes no more events."""


class DurableUnavailable(EdgeError):
    """The management API or its storage did not answer (the edge says 503)."""
