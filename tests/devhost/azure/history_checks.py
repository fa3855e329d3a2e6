"""Checks that a persisted history is what one clean DTFx run writes: no event applied twice."""

from collections import Counter

from devhost.history import HistoryEvent


def assert_clean_history(events: list[HistoryEvent]) -> None:
    types = [e["EventType"] for e in events]
    assert types[0] == 12 and types[1] == 0, types  # OrchestratorStarted, ExecutionStarted
    assert types.count(0) == 1, "ExecutionStarted recorded twice"
    assert types.count(1) == 1 and types[-2:] == [1, 13], (
        types
    )  # one ExecutionCompleted, then OrchestratorCompleted
    scheduled = [e["EventId"] for e in events if e["EventType"] in (4, 7, 10)]
    assert len(scheduled) == len(set(scheduled)), f"a task was scheduled twice: {scheduled}"
    completions = Counter(e.get("TaskScheduledId") for e in events if e["EventType"] in (5, 6, 8, 9))
    fired = Counter(e.get("TimerId") for e in events if e["EventType"] == 11)
    assert all(n == 1 for n in completions.values()), f"duplicate completions: {completions}"
    assert all(n == 1 for n in fired.values()), f"duplicate timer firings: {fired}"
    assert set(completions) | set(fired) == set(scheduled), "a scheduled task never completed"
    # Episodes are well formed: each OrchestratorStarted is closed by an OrchestratorCompleted.
    depth = 0
    for t in types:
        if t == 12:
            assert depth == 0, types
            depth = 1
        elif t == 13:
            assert depth == 1, types
            depth = 0
    assert depth == 0
