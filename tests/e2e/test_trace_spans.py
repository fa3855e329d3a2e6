"""A booking's OpenTelemetry spans from the real processes: devhost runs the app with the OTLP exporter
pointed at a receiver in this test (OTLP/HTTP on 127.0.0.1), and with LOG_FORMAT=json.

One `+flaky` booking (the airline answers 503 twice before it books) sent with a client `traceparent`:
every span of the booking is in the client's trace, and every one's parent is a span the receiver got (the
app's and devhost's own, the extension's Distributed Tracing V2 spans: request, orchestration, activity)
but the host's request span, under the client's; each supplier call is a client span under its
activity's span, and the `traceparent` the sandbox received names exactly that span; each attempt of the
retried flight is a span of its own (failed ones marked as errors); the payment webhook raises the
booking's event in a span under its own; no span says anything personal; devhost logged Executing and
Executed for every activity invocation (a failed attempt `Failed` with its exception); and devhost's JSON
log lines of the booking carry its booking id and trace id.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.e2e.conftest import running_devhost
from tests.e2e.journey import Journey, trip, unique_email
from tests.e2e.test_log_hygiene import secret_forms
from tests.support.azurite import Azurite
from tests.support.devhost import DevhostProcess
from tests.support.otlp import OtlpReceiver, Received
from tests.support.sandbox import SandboxProcess

pytestmark = pytest.mark.e2e

TRAVELLER = "Ada Lovelace"


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def devhost(azurite: Azurite, sandbox: SandboxProcess, receiver: OtlpReceiver) -> Iterator[DevhostProcess]:
    settings = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "conference-trips-e2e",
        "LOG_FORMAT": "json",
    }
    with running_devhost(azurite, sandbox, "Spans", settings=settings) as host:
        yield host


def _base(name: str) -> str:
    """A Durable span's name without its version (`orchestration:booking@(1.0)` → `orchestration:booking`)."""
    return name.split("@(")[0]


def _wait_for(receiver: OtlpReceiver, trace_id: str, names: set[str], seconds: float = 30) -> list[Received]:
    deadline = time.monotonic() + seconds
    while True:
        spans = receiver.of_trace(trace_id)
        ids = {s.span_id for s in spans}
        # Two processes' exporters (the app's, devhost's) send on their own schedules: wait for every parent.
        if names <= {_base(s.name) for s in spans} and sum(s.parent_id not in ids for s in spans) <= 1:
            return spans
        assert time.monotonic() < deadline, f"spans never arrived: {names - {_base(s.name) for s in spans}}"
        time.sleep(0.1)


def test_a_flaky_booking_is_one_trace_of_linked_spans_with_nothing_personal(
    journey: Journey, devhost: DevhostProcess, receiver: OtlpReceiver, sandbox: SandboxProcess
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    email = unique_email("flaky")
    body = {"traveller": {"name": TRAVELLER, "email": email}, "trips": [trip()], "currency": "EUR"}
    url = f"{journey.api_url}/api/bookings"
    response = journey.http.post(url, json=body, headers={"traceparent": traceparent})
    assert response.status_code == 202, response.text
    booking_id = response.json()["bookingId"]
    assert journey.wait_final(booking_id)["status"] == "Confirmed"
    activities = {"activity book_ticket", "activity book_flight", "activity book_hotel",
                  "activity request_payment", "activity report_expenses"}
    # devhost's own spans (the extension's Distributed Tracing V2, host.json turns it on) end the booking.
    host_spans = {"POST /api/bookings", "create_orchestration:booking", "orchestration:booking",
                  "orchestration:trip", "activity:book_flight"}
    spans = _wait_for(receiver, trace_id, {"start booking"} | activities | host_spans)
    by_id = {s.span_id: s for s in spans}
    _assert_one_whole_chain(spans, traceparent[36:52])

    # The booking's spans, wherever they were made, are all in the client's trace; but the payment webhook,
    # which is the provider's request (in a trace of its own), found by its booking.id.
    named = [s for s in receiver.all() if s.attributes.get("booking.id") == booking_id]
    elsewhere = {s.name for s in named if s.trace_id != trace_id}
    assert elsewhere == {"payment webhook", "raise event PaymentSucceeded"}, elsewhere
    # The event the webhook raises is a producer span under the webhook's, both naming the booking.
    (webhook,) = [s for s in named if s.name == "payment webhook"]
    (raised,) = [s for s in named if s.name == "raise event PaymentSucceeded"]
    assert (raised.trace_id, raised.parent_id) == (webhook.trace_id, webhook.span_id)
    assert raised.kind == Span.SPAN_KIND_PRODUCER and raised.attributes["booking.instance_id"] == booking_id
    (start,) = [s for s in spans if s.name == "start booking"]
    assert start.attributes["booking.id"] == booking_id
    # The app's start span is under the host's request span, itself under the client's span.
    assert by_id[start.parent_id].name == "POST /api/bookings"
    assert by_id[start.parent_id].parent_id == traceparent[36:52]
    assert start.resource["service.name"] == "conference-trips-e2e"

    # Each attempt of the flaky flight is one activity span, its own invocation; the failed ones are errors.
    flights = sorted((s for s in spans if s.name == "activity book_flight"), key=lambda s: s.status)
    error, unset = Status.STATUS_CODE_ERROR, Status.STATUS_CODE_UNSET
    assert [s.status for s in flights] == [unset, error, error]
    assert len({s.attributes["faas.invocation_id"] for s in flights}) == 3
    assert all(s.attributes["error.type"] == "TransientSupplierError" for s in flights[1:])
    for kind in (Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT):  # devhost's spans of the attempts agree
        host_flights = [s for s in spans if _base(s.name) == "activity:book_flight" and s.kind == kind]
        assert sorted(s.status for s in host_flights) == [unset, error, error]
    for activity in (s for s in spans if s.name.startswith("activity ")):
        # Under the host's span of that invocation (`activity:{name}`, server), under its scheduling span
        # (client), under the orchestration that scheduled it.
        invocation = by_id[activity.parent_id]
        durable_name = activity.name.removeprefix("activity ")
        assert (invocation.name, invocation.kind) == (f"activity:{durable_name}", Span.SPAN_KIND_SERVER)
        scheduling = by_id[invocation.parent_id]
        assert (scheduling.name, scheduling.kind) == (f"activity:{durable_name}", Span.SPAN_KIND_CLIENT)
        assert _base(by_id[scheduling.parent_id].name) in ("orchestration:booking", "orchestration:trip")
    for name in ("activity book_ticket", "activity book_flight", "activity book_hotel"):
        for s in (s for s in spans if s.name == name):
            assert s.attributes["booking.id"] == booking_id and s.attributes["booking.trip"] == 0
            assert s.attributes["booking.instance_id"] == f"{booking_id}:trip:0"

    # Every supplier call is a client span under its activity's span, named after the supplier.
    calls = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT and "supplier.name" in s.attributes]
    assert calls
    for call in calls:
        parent = by_id[call.parent_id]
        assert parent.name.startswith("activity "), (call.name, parent.name)
        assert call.name == f"{call.attributes['http.method']} {call.attributes['supplier.name']}"
    airline = [c for c in calls if c.attributes["supplier.name"] == "airline" and c.name.startswith("POST")]
    assert sorted(c.attributes["http.status_code"] for c in airline) == [201, 503, 503]

    # The traceparent each supplier received is the span of that very call.
    rows = journey.http.get(f"{journey.sandbox_url}/_sandbox/requests", params={"traceId": trace_id}).json()
    assert rows and {r["traceparent"][36:52] for r in rows} <= {c.span_id for c in calls}

    # Nothing personal or secret in any span: names, attributes, resources, of every span received.
    forbidden = [email, email.split("@")[0], TRAVELLER, *secret_forms(sandbox.webhook_secret)]
    for span in receiver.all():
        text = json.dumps([span.name, span.attributes, span.resource], default=str)
        assert not any(f.lower() in text.lower() for f in forbidden), span.name

    # devhost's JSON log lines about this booking carry its trace.
    lines = [json.loads(line) for line in devhost.output().splitlines() if line.startswith("{")]
    _assert_executions_logged(lines, [s for s in spans if s.name.startswith("activity ")])
    mine = [line for line in lines if line.get("booking.id") == booking_id]
    in_functions = [line for line in mine if "faas.name" in line]
    wrong = [line for line in in_functions if line["trace_id"] != trace_id]
    assert all(line["faas.name"] == "payment_webhook" for line in wrong), wrong  # the provider's own trace
    assert {line["faas.name"] for line in mine if "faas.name" in line} >= {"book_flight", "start_booking"}


def _assert_one_whole_chain(spans: list[Received], client_span: str) -> None:
    """Every span of the trace, from the app or from devhost, has a parent the receiver got, but one: the
    host's request span, whose parent is the client's. One orchestration span per orchestration instance,
    though each replays on every episode."""
    by_id = {s.span_id: s for s in spans}
    assert len(by_id) == len(spans), "a span id was exported twice"
    orphans = [s.name for s in spans if s.parent_id not in by_id]
    assert orphans == ["POST /api/bookings"], orphans
    assert by_id_parent(spans, "POST /api/bookings") == client_span
    servers = [s for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    (booking,) = [s for s in servers if _base(s.name) == "orchestration:booking"]
    assert booking.attributes["durabletask.task.status"] == "Completed"
    assert _base(by_id[booking.parent_id].name) == "create_orchestration:booking"
    trips = [s for s in servers if _base(s.name) == "orchestration:trip"]
    assert len({s.attributes["durabletask.task.instance_id"] for s in trips}) == len(trips) >= 1
    for trip_span in trips:  # each under the parent's scheduling (client) span, under the booking
        scheduling = by_id[trip_span.parent_id]
        assert scheduling.kind == Span.SPAN_KIND_CLIENT and scheduling.parent_id == booking.span_id


def by_id_parent(spans: list[Received], name: str) -> str:
    (span,) = [s for s in spans if s.name == name]
    return span.parent_id


def _assert_executions_logged(lines: list[dict[str, Any]], activities: list[Received]) -> None:
    """devhost logged Executing and Executed (as the Functions host does, PROTOCOL.md §32) for every
    activity invocation of the booking, found by its invocation id; a failed attempt is `Failed`, at
    ERROR, with its exception."""
    assert len(activities) >= 7  # ticket, 3 flight attempts, hotel, payment, expenses
    for activity in activities:
        invocation = activity.attributes["faas.invocation_id"]
        mine = [line for line in lines if f"Id={invocation}" in line["message"]]
        executing, executed = mine  # exactly the two lines, in order
        function = executing["logger"].removeprefix("Function.")
        for host_line in mine:  # structured too: the function and the invocation as fields
            assert (host_line["faas.name"], host_line["faas.invocation_id"]) == (function, invocation)
        assert executing["message"] == f"Executing 'Functions.{function}' (Reason='(null)', Id={invocation})"
        outcome = "Failed" if activity.status == Status.STATUS_CODE_ERROR else "Succeeded"
        assert re.fullmatch(
            rf"Executed 'Functions\.{function}' \({outcome}, Id={invocation}, Duration=\d+ms\)",
            executed["message"],
        ), executed
        if outcome == "Failed":
            assert executed["level"] == "ERROR"
            assert "TransientSupplierError: " in executed["exception"], executed
        else:
            assert executed["level"] == "INFO" and "exception" not in executed
