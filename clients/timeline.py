"""`GET /api/bookings/{bookingId}/events`: a booking's timeline, read from the history of its
orchestrations.

A booking is several orchestrations with ids derived from its own (booking/orchestration.py): the
booking, one `trip` and possibly one `undo_trip` per trip, and a `late_payment_refund` per payment
that came too late. Their histories are read concurrently and merged in time order. (External events
*into* a booking, cancel and payment, are booking/events.py.)

History is what the management API shows with showHistory (PROTOCOL.md §5.3): TaskScheduled already
merged into TaskCompleted/TaskFailed (`FunctionName`, `ScheduledTime`). Each entry says when, where
(`scope`) and what happened: a supplier call and its outcome, a failure, the retry it caused, a
fallback to the train, a step skipped or held back by an open supplier circuit, an undo, a payment
event. Inputs are never copied (they hold the
traveller's email); results only contribute references, codes and statuses.

Like the other endpoint modules, this one does not postpone annotations (no `from __future__ import
annotations`): the Functions worker inspects the handler's signature.
"""

import asyncio
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from booking.circuit import CIRCUIT_ENTITY
from booking.errors import BookingNotFound
from booking.orchestration import refund_instance_id, trip_instance_id, undo_trip_instance_id
from booking.trip_steps import SUPPLIER_STEPS
from clients.blueprint import endpoint
from clients.durable import status_of
from clients.idempotency import is_booking_id
from clients.responses import json_response
from clients.views import booking_input, current_view, is_booking, unwrap_json

_FRACTION = re.compile(r"(\.\d{6})\d+")
_MAX_DETAIL = 200


def parse_time(value: Any) -> datetime | None:
    """The runtime writes up to 7 fractional digits and a Z; Python reads 6."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(value: Any) -> Any:
    for _ in range(3):
        if not isinstance(value, str):
            return value
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return value


def _kind_of(step: str) -> str:
    name = step.lower()
    if name.startswith("undo"):
        return "undo"
    if "payment" in name or "refund" in name:
        return "payment"
    if "expense" in name:
        return "expenses"
    return "supplier_call"


def _outcome(result: Any) -> tuple[str, dict[str, Any]]:
    """A short outcome and the safe facts of an activity result (references, codes, statuses)."""
    result = _json(result)
    facts: dict[str, Any] = {}
    if not isinstance(result, Mapping):
        return "ok", facts
    failure = result.get("failure")
    if isinstance(failure, Mapping) and failure.get("code"):
        return str(failure["code"]), facts
    booking = result.get("booking")
    if isinstance(booking, Mapping):
        if booking.get("reference"):
            facts["reference"] = str(booking["reference"])
        if booking.get("mode"):
            facts["mode"] = str(booking["mode"])
        return "booked", facts
    for key in ("reference", "paymentId", "refundId"):
        if isinstance(result.get(key), str):
            facts[key] = result[key]
    if isinstance(result.get("status"), str):
        return str(result["status"]), facts
    if result.get("refunded") is True:
        return "refunded", facts
    return "ok", facts


def _detail(reason: Any) -> str:
    """The readable first line of an activity failure, without the runtime's wrapper text."""
    text = str(reason or "").split("\n", 1)[0].strip()
    text = re.sub(r"^Activity function '[^']*' failed:\s*", "", text)
    return text[:_MAX_DETAIL]


def _event_facts(payload: Any) -> dict[str, Any]:
    data = _json(payload)
    if not isinstance(data, Mapping):
        return {}
    return {
        key: data[key]
        for key in ("paymentId", "webhookId", "type", "reason")
        if isinstance(data.get(key), str)
    }


CIRCUIT_PREFIX = f"@{CIRCUIT_ENTITY}@"
# The supplier whose circuit each booking activity asks (a call to another one ends a skip).
STEP_SUPPLIERS = {step.book.value.lower(): step.supplier for step in SUPPLIER_STEPS}


def _circuit_request(event: Mapping[str, Any]) -> tuple[str, str, str, Mapping[str, Any], bool] | None:
    """(request id, supplier, operation, operation input, is a signal) of a message to a supplier's
    circuit."""
    target = str(event.get("InstanceId", ""))
    if not target.startswith(CIRCUIT_PREFIX):
        return None
    request = _json(event.get("Input"))
    if not isinstance(request, Mapping):
        return None
    operation_input = _json(request.get("input"))
    return (
        str(request.get("id", "")),
        target.removeprefix(CIRCUIT_PREFIX),
        str(request.get("op", "")),
        operation_input if isinstance(operation_input, Mapping) else {},
        request.get("signal") is True,
    )


def entries_of(
    scope: str, history: Sequence[Mapping[str, Any]], payment_deadline: datetime | None = None
) -> list[dict[str, Any]]:
    """Timeline entries of one orchestration's history, in history order. The first timer set for
    `payment_deadline` is named as such; the payment wait re-arms that same deadline every round, and
    those repeats say nothing new.

    A trip asks a supplier's circuit before each call and reports each failure (orchestrators/breaker.py).
    The entity's answers are not in this history, but what the trip did next is: a timer right after an
    `ask` is a wait for the circuit's probe time (`circuit_wait`); an `ask` or a failure's `report` of a
    step that skips when held back, followed by no call to that supplier (the next thing is another
    supplier's circuit or call, or the end), skipped it (`circuit_open`, outcome `skipped`). A timer after
    a `report` is the step's backoff (`retry`). A `peek` (the flight's look at the rail's circuit beside
    its failure's report) decides nothing by itself: the report's answer does."""
    entries: list[dict[str, Any]] = []
    deadline_named = False
    last_failed: str | None = None
    travelled_by: set[str] = set()
    circuit_calls: set[str] = set()  # request ids: their answers are bookkeeping, not timeline events
    # The last circuit message that may hold a step back: (supplier, what it does then, when, operation).
    asked: tuple[str, str, datetime, str] | None = None
    for event in history:
        kind = str(event.get("EventType", ""))
        at = parse_time(event.get("Timestamp"))
        if at is None:
            continue
        entry: dict[str, Any] | None = None
        request = _circuit_request(event) if kind == "EventSent" else None
        ends = kind in ("ExecutionCompleted", "ExecutionTerminated")
        if request is not None and request[2] == "peek":
            circuit_calls.add(request[0])
            continue
        other_call = kind in ("TaskCompleted", "TaskFailed") and asked is not None and (
            STEP_SUPPLIERS.get(str(event.get("FunctionName", "")).lower()) != asked[0]
        )
        if asked is not None and asked[1] == "skip" and (request is not None or ends or other_call):
            skipped = {"type": "circuit_open", "supplier": asked[0], "outcome": "skipped"}
            entries.append({"at": _iso(asked[2]), "scope": scope, **skipped})
            if asked[0] == "airline":
                travelled_by.add("flight")  # so the train that follows shows as the fallback it is
            asked = None
        if request is not None:
            request_id, supplier, operation, operation_input, signal = request
            circuit_calls.add(request_id)
            then = str(operation_input.get("then", "wait"))
            # A signal has no answer to act on (a success, or the failure of a step's last attempt).
            asked = None if signal or operation not in ("ask", "report") else (supplier, then, at, operation)
            continue
        if kind == "ExecutionStarted":
            entry = {"type": "started"}
        elif kind in ("TaskCompleted", "TaskFailed"):
            asked = None  # the call the circuit let through
            step = str(event.get("FunctionName", ""))
            started = parse_time(event.get("ScheduledTime")) or at
            entry = {"type": _kind_of(step), "step": step, "completedAt": _iso(at)}
            at = started
            mode = "train" if "train" in step.lower() else "flight" if "flight" in step.lower() else None
            if kind == "TaskFailed":
                entry.update(outcome="error", detail=_detail(event.get("Reason")))
                last_failed = step
            else:
                outcome, facts = _outcome(event.get("Result"))
                entry.update(outcome=outcome, **facts)
                last_failed = None
            if entry["type"] == "supplier_call" and mode == "train" and "flight" in travelled_by:
                entry["type"] = "fallback"
            if mode and entry["type"] in ("supplier_call", "fallback"):
                travelled_by.add(mode)
        elif kind == "TimerCreated":
            fire_at = parse_time(event.get("FireAt"))
            supplier_of_wait = asked[0] if asked is not None else ""
            held_back, asked = asked is not None and asked[3] == "ask", None
            if held_back:
                entry = {"type": "circuit_wait", "supplier": supplier_of_wait}
                last_failed = None
            elif last_failed is not None:
                entry = {"type": "retry", "step": last_failed}
            elif fire_at is not None and fire_at == payment_deadline:
                if deadline_named:
                    continue
                entry, deadline_named = {"type": "payment_deadline"}, True
            else:
                entry = {"type": "timer"}
            if fire_at is not None:
                entry["fireAt"] = _iso(fire_at)
        elif kind == "EventRaised":
            name = str(event.get("Name", ""))
            if name in circuit_calls:
                continue
            entry = {"type": "payment_event" if name.startswith("Payment") else "event", "name": name}
            entry.update(_event_facts(event.get("Input")))
        elif kind == "ExecutionCompleted":
            entry = {"type": "completed", "outcome": str(event.get("OrchestrationStatus", ""))}
            status = _json(event.get("Result"))
            if isinstance(status, Mapping) and isinstance(status.get("status"), str):
                entry["outcome"] = status["status"]
        elif kind == "ExecutionTerminated":
            entry = {"type": "terminated"}
        if entry is not None:
            entries.append({"at": _iso(at), "scope": scope, **entry})
    return entries


def timeline(
    histories: Iterable[tuple[str, Sequence[Mapping[str, Any]]]], payment_deadline: datetime | None = None
) -> list[dict[str, Any]]:
    """All scopes' entries merged in time order (stable: history order breaks ties)."""
    merged = [
        entry for scope, history in histories for entry in entries_of(scope, history, payment_deadline)
    ]
    return sorted(merged, key=lambda entry: entry["at"])


# --- the endpoint ---------------------------------------------------------------------------------


def history_of(status: DurableOrchestrationStatus) -> list[dict[str, Any]]:
    """The runtime names it `historyEvents`; SDK 1.7.0 expects `history` (PROTOCOL.md §5.3): take either."""
    events = getattr(status, "historyEvents", None) or status.history or []
    return [event for event in events if isinstance(event, dict)]


def _payment_ids(status: DurableOrchestrationStatus, history: list[dict[str, Any]]) -> list[str]:
    ids = {current_view(status).payment.payment_id}
    for event in history:
        if event.get("EventType") == "EventRaised":
            payload = unwrap_json(event.get("Input"))
            if isinstance(payload, dict) and isinstance(payload.get("paymentId"), str):
                ids.add(payload["paymentId"])
    return sorted(i for i in ids if i)


@endpoint("bookings/{bookingId}/events", "GET")
async def booking_events(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    booking_id = req.route_params.get("bookingId", "")
    if not is_booking_id(booking_id):
        raise BookingNotFound(booking_id)
    status = await status_of(client, booking_id, history=True)
    if not is_booking(status):
        raise BookingNotFound(booking_id)
    history = history_of(status)
    accepted = booking_input(status)
    trips = range(len(accepted.request.trips) if accepted else 0)
    related = [(f"trip[{i}]", trip_instance_id(booking_id, i)) for i in trips]
    related += [(f"undo trip[{i}]", undo_trip_instance_id(booking_id, i)) for i in trips]
    related += [(f"refund {p}", refund_instance_id(p)) for p in _payment_ids(status, history)]
    statuses = await asyncio.gather(*(status_of(client, instance, history=True) for _, instance in related))
    histories = [("booking", history)]
    histories += [(scope, history_of(s)) for (scope, _), s in zip(related, statuses, strict=True) if s]
    return json_response(timeline(histories, current_view(status).payment.expires_at))
