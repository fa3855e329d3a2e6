"""The one place where HTTP answers become results or errors, shared by every supplier client.

2xx → the expected model; a problem whose `code` the call lists as a business outcome → `Rejected`;
timeouts, connection errors, 5xx, 408 and 429 → `SupplierUnavailable` (with Retry-After seconds, and
`outcome_unknown` when the request may have been carried out without an answer);
any other 4xx or an unreadable body → `SupplierProtocolError`.

Every request carries the W3C `traceparent` (and `tracestate`) of the current OpenTelemetry context,
so a supplier's records join the booking's trace; `joined_trace` makes an invocation's trace current.
With telemetry on, each request is also a client span (httpx instrumentation, telemetry.setup) whose own
`traceparent` replaces that one, and which names the supplier (`supplier.name`).
"""

from __future__ import annotations

import email.utils
import logging
import math
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel, TypeAdapter, ValidationError

import telemetry
from suppliers.errors import SupplierProtocolError, SupplierUnavailable
from suppliers.models import Rejected, RejectionCode, SupplierBooking

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
B = TypeVar("B", bound=SupplierBooking)

_TRANSIENT_4XX = {408, 425, 429}
# Transport failures that prove the request never reached the supplier (no connection was made, or
# none was free): nothing can have been done there. Every other one may have come after the request
# was sent, so its outcome is unknown.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_W3C = TraceContextTextMapPropagator()


class W3CTrace(Protocol):
    """What the Functions worker passes as `context.trace_context` (azure.functions.TraceContext)."""

    @property
    def trace_parent(self) -> str: ...

    @property
    def trace_state(self) -> str: ...


@contextmanager
def joined_trace(trace: W3CTrace | None) -> Iterator[None]:
    """Run the block in the W3C trace the host gave the invocation (`context.trace_context`): what it sends
    (supplier requests, the SDK's start_new) carries that trace. No trace, or an invalid traceparent, joins
    nothing (the propagator ignores it), so the block runs as it would without one."""
    carrier = {"traceparent": trace.trace_parent, "tracestate": trace.trace_state} if trace else {}
    token = otel_context.attach(_W3C.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


class SupplierClient:
    """Base of the per-API clients: sends one request, maps the answer."""

    supplier: ClassVar[str] = "supplier"

    def __init__(self, http: httpx.AsyncClient, *, timeout: httpx.Timeout | float | None = None) -> None:
        """`timeout` overrides the injected client's own timeouts (httpx always has some: 5 s by default)."""
        self._http = http
        self._timeout: httpx.Timeout | None = (
            None
            if timeout is None
            else timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout)
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        _W3C.inject(headers)  # the current trace, when there is one
        timeout = httpx.USE_CLIENT_DEFAULT if self._timeout is None else self._timeout
        try:
            with telemetry.scope(supplier=self.supplier):  # the request's span and log lines name it
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers, timeout=timeout
                )
        except httpx.TransportError as exc:  # timeouts included
            name = type(exc).__name__
            what = f"timed out ({name})" if isinstance(exc, httpx.TimeoutException) else f"failed: {name}"
            raise SupplierUnavailable(
                self.supplier, f"{method} {path} {what}", outcome_unknown=not isinstance(exc, _NOT_SENT)
            ) from exc
        log.debug("%s %s %s -> %s", self.supplier, method, path, response.status_code)
        return response

    def _problem(self, response: httpx.Response) -> tuple[str | None, str]:
        try:
            body = response.json()
        except ValueError:
            return None, response.reason_phrase or f"HTTP {response.status_code}"
        if not isinstance(body, dict):
            return None, f"HTTP {response.status_code}"
        code = body.get("code") if isinstance(body.get("code"), str) else None
        detail = body.get("detail") or body.get("title") or f"HTTP {response.status_code}"
        return code, str(detail)

    async def _read(
        self, collection: str, key: str, result: type[M], not_found: RejectionCode
    ) -> M | Rejected:
        """GET `<collection>/<key>`: the resource, or `Rejected(not_found)` when the supplier has none."""
        return await self._call("GET", f"{collection}/{quote(key, safe='')}", result, business=(not_found,))

    def _fail_or_reject(self, response: httpx.Response, business: Collection[RejectionCode]) -> Rejected:
        """For a non-2xx answer: the Rejected result, or raise the matching error."""
        status = response.status_code
        code, detail = self._problem(response)
        if status >= 500 or status in _TRANSIENT_4XX:
            raise SupplierUnavailable(
                self.supplier,
                f"HTTP {status}: {detail}",
                status=status,
                code=code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if code is not None and code in {c.value for c in business}:
            return Rejected(supplier=self.supplier, code=RejectionCode(code), status=status, detail=detail)
        raise SupplierProtocolError(
            self.supplier, f"HTTP {status} {code or ''}: {detail}", status=status, code=code
        )

    def _body(self, response: httpx.Response, adapter: TypeAdapter[T]) -> T:
        try:
            return adapter.validate_json(response.content)
        except ValidationError as exc:
            raise SupplierProtocolError(
                self.supplier,
                f"unreadable answer to {response.request.method} {response.request.url.path}: "
                f"{exc.error_count()} error(s)",
                status=response.status_code,
            ) from exc

    async def _call(
        self,
        method: str,
        path: str,
        result: type[M],
        *,
        business: Collection[RejectionCode] = (),
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> M | Rejected:
        response = await self._request(
            method, path, json=json, params=params, idempotency_key=idempotency_key
        )
        if not response.is_success:
            return self._fail_or_reject(response, business)
        return self._body(response, TypeAdapter(result))

    async def _call_ok(
        self,
        method: str,
        path: str,
        result: TypeAdapter[T],
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> T:
        """A call with no business outcome: anything but 2xx raises."""
        response = await self._request(
            method, path, json=json, params=params, idempotency_key=idempotency_key
        )
        if not response.is_success:
            self._fail_or_reject(response, ())
        return self._body(response, result)


class BookingsClient(SupplierClient, Generic[B]):
    """Base of the clients of a supplier that keeps bookings (tickets, travel bookings, hotel
    reservations, expense reports) at `<collection>/<reference>`: booked by a POST to the collection,
    read by a GET, undone by an idempotent DELETE. A subclass names its `collection` and `booking`
    model and adds the body of its own `book`.
    """

    collection: ClassVar[str]
    booking: type[B]

    async def _book(
        self, body: dict[str, Any], *, idempotency_key: str, business: Collection[RejectionCode]
    ) -> B | Rejected:
        return await self._call(
            "POST",
            self.collection,
            self.booking,
            json=body,
            idempotency_key=idempotency_key,
            business=business,
        )

    async def get(self, reference: str) -> B | Rejected:
        """The booking as the supplier holds it. `Rejected(booking_not_found)` for an unknown reference."""
        return await self._read(self.collection, reference, self.booking, RejectionCode.BOOKING_NOT_FOUND)

    async def undo(self, reference: str, *, idempotency_key: str | None = None) -> B | Rejected:
        """Undo a booking (cancel a ticket, travel or hotel, withdraw a report); idempotent, by default
        under `undo:<reference>`. `Rejected(booking_not_found)` when the reference is unknown."""
        return await self._call(
            "DELETE",
            f"{self.collection}/{quote(reference, safe='')}",
            self.booking,
            idempotency_key=idempotency_key or undo_key(reference),
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )


def undo_key(reference: str) -> str:
    """The Idempotency-Key of an undo when the caller gives none: the same for every retry."""
    return f"undo:{reference}"
