"""The timeline of a booking, from histories shaped as the management API returns them (PROTOCOL.md §5.3)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from clients.timeline import entries_of, parse_time, timeline


def completed(name: str, scheduled: str, at: str, result: object) -> dict[str, Any]:
    return {
        "EventType": "TaskCompleted",
        "FunctionName": name,
        "ScheduledTime": scheduled,
        "Timestamp": at,
        "Result": result,
    }


def failed(name: str, scheduled: str, at: str, reason: str) -> dict[str, Any]:
    return {
        "EventType": "TaskFailed",
        "FunctionName": name,
        "ScheduledTime": scheduled,
        "Timestamp": at,
        "Reason": reason,
        "Details": "System.Exception ... stack",
    }


def t(seconds: int, fraction: str = "") -> str:
    return f"2027-01-01T10:00:{seconds:02d}{fraction}Z"


FLAKY_TRIP = [
    {
        "EventType": "ExecutionStarted",
        "FunctionName": "trip",
        "Timestamp": t(0, ".1234567"),
        "Input": '{"traveller": {"email": "ada@example.com"}}',
    },
    completed("book_ticket", t(0), t(1), {"booking": {"reference": "CT-1", "price": {"amount": "1.00"}}}),
    failed(
        "book_flight",
        t(1),
        t(2),
        "Activity function 'book_flight' failed:  TransientSupplierError: airline: 503\n more",
    ),
    {"EventType": "TimerCreated", "FireAt": t(3), "Timestamp": t(2)},
    {"EventType": "TimerFired", "FireAt": t(3), "Timestamp": t(3)},
    completed("book_flight", t(3), t(4), {"booking": {"mode": "flight", "reference": "FL-1"}}),
    completed(
        "book_hotel",
        t(4),
        t(5),
        json.dumps({"failure": {"code": "hotel_unavailable", "message": "sold out"}}),
    ),
    completed("undo_flight", t(5), t(6), {"reference": "FL-1", "found": True}),
    {
        "EventType": "ExecutionCompleted",
        "OrchestrationStatus": "Completed",
        "Timestamp": t(7),
        "Result": {"status": "Failed"},
    },
]


def test_each_supplier_call_failure_retry_and_undo_is_an_entry() -> None:
    entries = entries_of("trip[0]", FLAKY_TRIP)
    kinds = [(e["type"], e.get("step"), e.get("outcome")) for e in entries]
    assert kinds == [
        ("started", None, None),
        ("supplier_call", "book_ticket", "booked"),
        ("supplier_call", "book_flight", "error"),
        ("retry", "book_flight", None),
        ("supplier_call", "book_flight", "booked"),
        ("supplier_call", "book_hotel", "hotel_unavailable"),
        ("undo", "undo_flight", "ok"),
        ("completed", None, "Failed"),
    ]
    assert all(e["scope"] == "trip[0]" for e in entries)
    error = entries[2]
    assert error["detail"] == "TransientSupplierError: airline: 503"
    assert entries[3]["fireAt"] == "2027-01-01T10:00:03.000Z"
    assert entries[1]["reference"] == "CT-1"
    # A call is placed when it was scheduled and says when it completed.
    assert (
        entries[4]["at"] == "2027-01-01T10:00:03.000Z"
        and entries[4]["completedAt"] == "2027-01-01T10:00:04.000Z"
    )


def test_inputs_never_reach_the_timeline() -> None:
    assert "ada@example.com" not in json.dumps(entries_of("trip[0]", FLAKY_TRIP))


def test_a_train_after_a_flight_is_a_fallback() -> None:
    history = [
        completed("book_flight", t(1), t(2), {"failure": {"code": "no_travel_route", "message": "no route"}}),
        completed("book_train", t(2), t(3), {"booking": {"mode": "train", "reference": "TR-1"}}),
    ]
    entries = entries_of("trip[0]", history)
    assert [(e["type"], e["outcome"]) for e in entries] == [
        ("supplier_call", "no_travel_route"),
        ("fallback", "booked"),
    ]


def test_payment_events_and_timers_of_the_booking() -> None:
    history = [
        completed("request_payment", t(1), t(2), {"paymentId": "pay_1", "status": "pending"}),
        {"EventType": "TimerCreated", "FireAt": "2027-01-01T10:15:02Z", "Timestamp": t(2)},
        {
            "EventType": "EventRaised",
            "Name": "PaymentSucceeded",
            "Timestamp": t(9),
            "Input": json.dumps(json.dumps({"paymentId": "pay_1", "webhookId": "msg_1", "amount": "1.00"})),
        },
        {"EventType": "ExecutionTerminated", "Timestamp": t(10), "Input": "operator"},
    ]
    entries = entries_of("booking", history)
    assert [e["type"] for e in entries] == ["payment", "timer", "payment_event", "terminated"]
    assert entries[0]["outcome"] == "pending" and entries[0]["paymentId"] == "pay_1"
    assert (
        entries[2]["paymentId"] == "pay_1"
        and entries[2]["webhookId"] == "msg_1"
        and "amount" not in entries[2]
    )


def test_scopes_merge_in_time_order() -> None:
    booking = [
        {"EventType": "ExecutionStarted", "Timestamp": t(0)},
        {"EventType": "ExecutionCompleted", "OrchestrationStatus": "Completed", "Timestamp": t(9)},
    ]
    merged = timeline([("booking", booking), ("trip[0]", FLAKY_TRIP)])
    assert [e["at"] for e in merged] == sorted(e["at"] for e in merged)
    assert merged[0]["scope"] == "booking" and merged[-1]["scope"] == "booking"


def test_runtime_timestamps_with_seven_digits_parse() -> None:
    moment = parse_time("2024-04-05T03:31:23.6268922Z")
    assert moment is not None and moment.microsecond == 626892 and moment.utcoffset() == timedelta(0)
    assert parse_time("not a time") is None and parse_time(None) is None


def test_events_without_a_timestamp_are_skipped() -> None:
    assert entries_of("booking", [{"EventType": "ExecutionStarted"}]) == []


def test_the_payment_deadline_is_named_once() -> None:
    deadline = "2027-01-01T10:15:02Z"
    history = [
        completed("request_payment", t(1), t(2), {"paymentId": "pay_1", "status": "pending"}),
        {"EventType": "TimerCreated", "FireAt": deadline, "Timestamp": t(2)},
        # Each round of the payment wait re-arms the same deadline; a recheck timer is another timer.
        {"EventType": "TimerCreated", "FireAt": deadline, "Timestamp": t(5)},
        {"EventType": "TimerCreated", "FireAt": "2027-01-01T10:00:08Z", "Timestamp": t(5)},
    ]
    entries = entries_of("booking", history, parse_time(deadline))
    assert [e["type"] for e in entries] == ["payment", "payment_deadline", "timer"]
    assert entries[1]["fireAt"] == "2027-01-01T10:15:02.000Z"
