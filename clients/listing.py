"""`GET /api/bookings?status=…&limit=…`: recent bookings, newest first, for operators.

The SDK's query returns one page (100 instances, trips included, in storage order, not by time),
so the edge asks for widening creation-time windows until it has enough bookings: recent bookings
are exact; beyond a page of instances per window the list is best effort.
"""

import re
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus as Runtime

from booking import BookingResource, BookingStatus
from clients.blueprint import endpoint
from clients.errors import DurableUnavailable, FieldError, QueryError
from clients.idempotency import BOOKING_ID_PREFIX, is_booking_id
from clients.responses import json_response
from clients.views import booking_resource, is_booking

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SDK_PAGE = 100
# ASCII digits only: str.isdigit() also takes '²' (int() then raises) and '١' (which int() reads).
_LIMIT = re.compile(r"[0-9]{1,3}")
WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=30), None)

_LIVE = [Runtime.Pending, Runtime.Running, Runtime.Suspended, Runtime.ContinuedAsNew]
_ENDED = [Runtime.Completed, Runtime.Failed, Runtime.Terminated, Runtime.Canceled]
RUNTIME_FOR = {
    BookingStatus.PENDING: _LIVE,
    BookingStatus.BOOKING: _LIVE,
    BookingStatus.AWAITING_PAYMENT: _LIVE,
    BookingStatus.CANCELLING: _LIVE,
    BookingStatus.CONFIRMED: [Runtime.Completed],
    BookingStatus.CANCELLED: [Runtime.Completed],
    BookingStatus.EXPIRED: [Runtime.Completed],
    # A broken orchestration shows as Failed too (clients/views.py).
    BookingStatus.FAILED: _ENDED,
}


def parse_query(req: func.HttpRequest) -> tuple[BookingStatus | None, int]:
    errors: list[FieldError] = []
    wanted: BookingStatus | None = None
    raw_status = req.params.get("status")
    if raw_status is not None:
        # Present means one value: an empty `status=` is not "no filter", and "a,b" is not two.
        by_name = {s.value.lower(): s for s in BookingStatus}
        wanted = by_name.get(raw_status.lower())
        if wanted is None:
            errors.append(FieldError("status", "must be one of " + ", ".join(s.value for s in BookingStatus)))
    limit = DEFAULT_LIMIT
    raw_limit = req.params.get("limit")
    if raw_limit is not None:
        if _LIMIT.fullmatch(raw_limit) and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            errors.append(FieldError("limit", f"must be an integer from 1 to {MAX_LIMIT}"))
    if errors:
        raise QueryError(errors)
    return wanted, limit


async def recent_bookings(
    client: df.DurableOrchestrationClient, wanted: BookingStatus | None, limit: int
) -> list[BookingResource]:
    runtime = RUNTIME_FOR[wanted] if wanted else None
    now = datetime.now(UTC)
    found: dict[str, BookingResource] = {}
    for window in WINDOWS:
        since = now - window if window else None
        try:
            page = await client.get_status_by(
                created_time_from=since, runtime_status=runtime, instance_id_prefix=BOOKING_ID_PREFIX
            )
        except Exception as exc:
            raise DurableUnavailable(f"get_status_by failed: {type(exc).__name__}") from exc
        for status in page:
            instance = status.instance_id or ""
            if is_booking_id(instance) and is_booking(status):
                resource = booking_resource(instance, status)
                if wanted is None or resource.status == wanted:
                    found[instance] = resource
        # Enough bookings, or a full page (a wider window could only push newer ones out of it).
        if len(found) >= limit or len(page) >= SDK_PAGE:
            break
    newest = sorted(found.values(), key=lambda r: (r.created_at, r.booking_id), reverse=True)
    return newest[:limit]


@endpoint("bookings", "GET")
async def list_bookings(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    wanted, limit = parse_query(req)
    bookings = await recent_bookings(client, wanted, limit)
    return json_response({"bookings": [b.to_wire() for b in bookings], "count": len(bookings)})
