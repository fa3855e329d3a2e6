"""Checks on a persisted history: what one clean DTFx run writes (no event applied twice), and whether work
is still in flight (the crash tests kill a host at such a moment)."""

from collections import Counter
from collections.abc import Collection

from devhost.history import EventType, HistoryEvent

SCHEDULED = (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated, EventType.TimerCreated)
COMPLETIONS = (
    EventType.TaskCompleted,
    EventType.TaskFailed,
    EventType.SubOrchestrationInstanceCompleted,
    EventType.SubOrchestrationInstanceFailed,
)
TASK_DONE = (EventType.TaskCompleted, EventType.TaskFailed)


def has(events: list[HistoryEvent], event_type: EventType) -> bool:
    return any(e["EventType"] == event_type for e in events)


def in_flight(events: list[HistoryEvent], scheduled: Collection[int], done: Collection[int]) -> bool:
    """True if an event of a ``scheduled`` type has no event of a ``done`` type answering it yet."""
    answered = {e.get("TaskScheduledId", e.get("TimerId")) for e in events if e["EventType"] in done}
    return any(e["EventId"] not in answered for e in events if e["EventType"] in scheduled)


def assert_clean_history(events: list[HistoryEvent]) -> None:
    types = [EventType(e["EventType"]) for e in events]
    assert types[:2] == [EventType.OrchestratorStarted, EventType.ExecutionStarted], types
    assert types.count(EventType.ExecutionStarted) == 1, "ExecutionStarted recorded twice"
    assert types.count(EventType.ExecutionCompleted) == 1, types
    assert types[-2:] == [EventType.ExecutionCompleted, EventType.OrchestratorCompleted], types
    scheduled = [e["EventId"] for e in events if e["EventType"] in SCHEDULED]
    assert len(scheduled) == len(set(scheduled)), f"a task was scheduled twice: {scheduled}"
    completions = Counter(e.get("TaskScheduledId") for e in events if e["EventType"] in COMPLETIONS)
    fired = Counter(e.get("TimerId") for e in events if e["EventType"] == EventType.TimerFired)
    assert all(n == 1 for n in completions.values()), f"duplicate completions: {completions}"
    assert all(n == 1 for n in fired.values()), f"duplicate timer firings: {fired}"
    assert set(completions) | set(fired) == set(scheduled), "a scheduled task never completed"
    # Episodes are well formed: each OrchestratorStarted is closed by an OrchestratorCompleted.
    depth = 0
    for t in types:
        if t == EventType.OrchestratorStarted:
            assert depth == 0, types
            depth = 1
        elif t == EventType.OrchestratorCompleted:
            assert depth == 1, types
            depth = 0
    assert depth == 0
