"""The waterfall built from a history alone: each scheduling is a span with its attempt number, a span
without its completion is still running, failures carry their reason, raised events are marks."""

from __future__ import annotations

from devhost import history as h
from devhost.dashboard.waterfall import build

T = "2026-12-04T05:00:0{}.1234567Z"


def test_attempts_failures_timers_and_sub_orchestrations() -> None:
    events = [
        h.orchestrator_started(T.format(0)),
        h.task_scheduled(T.format(0), 0, "book", None),
        h.task_failed(T.format(1), 0, "Activity function 'book' failed: 503", None),
        h.timer_created(T.format(1), 1, T.format(2)),
        h.timer_fired(T.format(2), 1, T.format(2)),
        h.task_scheduled(T.format(2), 2, "book", None),
        h.task_completed(T.format(3), 2, '"ok"'),
        h.sub_orchestration_created(T.format(3), 3, "trip", "b1:trip:0", None),
        h.sub_orchestration_failed(T.format(4), 3, "trip failed", None),
        h.event_raised(T.format(5), "Paid", "{}"),
        h.task_scheduled(T.format(5), 4, "notify", None),
        h.timer_created(T.format(5), 5, T.format(9)),
    ]
    spans = [(s.kind, s.name, s.outcome, s.attempt) for s in build(events)]
    assert spans == [
        ("activity", "book", "failed", 1),
        ("timer", "timer", "fired", 1),
        ("activity", "book", "completed", 2),
        ("suborchestration", "trip", "failed", 1),
        ("event", "Paid", "completed", 1),
        ("activity", "notify", "running", 1),
        ("timer", "timer", "running", 2),
    ]
    built = build(events)
    assert built[0].detail == "Activity function 'book' failed: 503"
    assert built[3].instance_id == "b1:trip:0" and built[3].detail == "trip failed"
    assert built[5].end is None and built[4].start == built[4].end

