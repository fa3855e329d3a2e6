"""Every orchestrator vector step through devhost's episode runner: the context JSON it builds from its own
history equals the recorded one, the SDK answers as recorded, and REPLAY writes exactly the scheduling events
that the vector's next step holds (ids, inputs, retry timers, sub-orchestration ids, IsPlayed)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from devhost import history as h
from devhost.app_index import index_app
from devhost.engine.episode import EpisodeRunner, invoke_orchestrator
from devhost.engine.replay import Replayer
from devhost.history import RuntimeStatus
from devhost.store.base import InstanceRecord, OrchestrationMessage, OrchestrationWorkItem
from tests.devhost.engine.vector_support import ORCHESTRATOR_VECTORS, VEC, load

INDEX = index_app(VEC.app)

# late_waiter with ONE early 'Ping': the SDK answers both waits from its (non-consuming) buffer and returns,
# but the extension's shim gives one event to one waiter (.NET semantics) and keeps awaiting the second, so
# the real runtime never completes the instance (PROTOCOL.md §2.5, §4.1). devhost does the same.
HANGS_IN_EXTENSION = {("09_external_events_buffering.json", 5)}
# Final steps (no later step extends their history) that schedule something: 12 step 1 appends the next
# 3-day segment (id 1); 12 step 2 (no durations) is one plain 10-day timer (id 0); 02 step 4 (V1 schema)
# fans out to ids 1-3.
FINAL_STEP_WORK: dict[tuple[str, int], list[tuple[str, int]]] = {
    ("12_long_timer_v3.json", 1): [("timer", 1)],
    ("12_long_timer_v3.json", 2): [("timer", 0)],
    ("02_fan_out_fan_in.json", 4): [("activity", 1), ("activity", 2), ("activity", 3)],
}


class FixedClock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def now(self) -> dt.datetime:
        return self.t


def _cases(keep: Callable[[dict[str, Any]], bool] = lambda step: True) -> list[Any]:
    out = []
    for name in ORCHESTRATOR_VECTORS:
        doc = load(name)
        for i, step in enumerate(doc["steps"]):
            if keep(step):
                out.append(pytest.param(name, i, id=f"{name[:-5]}-step{i}"))
    return out


def _executed(step: dict[str, Any]) -> bool:
    """The generator ran the SDK on this step (a few steps only show a context shape)."""
    return _state(step["result"]) is not None


def _sent_by_devhost(step: dict[str, Any]) -> bool:
    """The context has the shape devhost sends: V2 upper schema and the Azure Storage timer durations.
    The other shapes (V1, no durations) are still replayed by the REPLAY test above."""
    ctx = step["context"]
    return bool(ctx.get("upperSchemaVersion") == 1 and "maximumShortTimerDuration" in ctx)


def _state(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    state: dict[str, Any] = result["returned"] if "returned" in result else result["raised"]["outOfProcData"]
    return state


def _strip(e: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in e.items() if k != "IsPlayed"}


def _successor_segment(steps: list[dict[str, Any]], i: int) -> list[dict[str, Any]] | None:
    """The events the vector shows being written by step i's episode (up to its OrchestratorCompleted)."""
    hist = steps[i]["context"]["history"]
    for later in steps[i + 1 :]:
        nxt = later["context"]["history"]
        if len(nxt) > len(hist) and [_strip(e) for e in nxt[: len(hist)]] == [_strip(e) for e in hist]:
            seg = []
            for e in nxt[len(hist) :]:
                seg.append(e)
                if e["EventType"] == 13:
                    return seg
            return seg
    return None


def _norm_sched(e: dict[str, Any]) -> dict[str, Any]:
    e = dict(e)
    if "FireAt" in e:
        e["FireAt"] = h.parse_ts(e["FireAt"])
    return e


def _work_item(ctx: dict[str, Any]) -> tuple[OrchestrationWorkItem, dt.datetime]:
    hist = ctx["history"]
    j = max(i for i, e in enumerate(hist) if e["EventType"] == 12)
    started = hist[1]
    oi = started["OrchestrationInstance"]
    t0 = h.parse_ts(started["Timestamp"])
    rec = InstanceRecord(
        instance_id=oi["InstanceId"],
        name=started["Name"],
        execution_id=oi["ExecutionId"],
        runtime_status=RuntimeStatus.Running if j else RuntimeStatus.Pending,
        created_time=t0,
        last_updated_time=t0,
        input=started["Input"],
    )
    msgs = [OrchestrationMessage(rec.instance_id, e, execution_id=rec.execution_id) for e in hist[j + 1 :]]
    item = OrchestrationWorkItem(rec.instance_id, msgs, rec, hist[:j], "tok", t0)
    return item, h.parse_ts(hist[j]["Timestamp"])


@pytest.mark.parametrize(("vector", "index"), _cases(_executed))
def test_replay_of_recorded_state_matches_next_step(vector: str, index: int) -> None:
    """REPLAY alone (any schema, incl. V1): recorded history + recorded SDK state → the next step's events."""
    steps = load(vector)["steps"]
    step = steps[index]
    state = _state(step["result"])
    assert state is not None
    hist = step["context"]["history"]
    oi = hist[1]["OrchestrationInstance"]
    r = Replayer(
        instance_id=oi["InstanceId"],
        execution_id=oi["ExecutionId"],
        check_activity=lambda n: None,
        check_orchestrator=lambda n: None,
    ).run(hist, state)
    seg = _successor_segment(steps, index)
    ts = hist[max(i for i, e in enumerate(hist) if e["EventType"] == 12)]["Timestamp"]
    produced = []
    for s in r.new_work:
        if s.kind == "activity":
            produced.append(h.task_scheduled(ts, s.event_id, s.name, s.input))
        elif s.kind == "timer":
            assert s.fire_at is not None
            produced.append(h.timer_created(ts, s.event_id, h.format_ts(s.fire_at)))
        else:
            assert s.instance_id is not None
            produced.append(
                h.sub_orchestration_created(ts, s.event_id, s.name, s.instance_id, h.compact_json(s.input))
            )
    if seg is not None:
        expected = [_norm_sched(_strip(e)) for e in seg if e["EventType"] in (4, 7, 10)]
        assert [_norm_sched(_strip(e)) for e in produced] == expected
    else:
        # a final step of its branch: the vector's notes say what the episode must schedule
        assert [(s.kind, s.event_id) for s in r.new_work] == FINAL_STEP_WORK.get((vector, index), [])


@pytest.mark.parametrize(("vector", "index"), _cases(_sent_by_devhost))
def test_episode_builds_recorded_context_and_writes_next_step(vector: str, index: int) -> None:
    steps = load(vector)["steps"]
    step = steps[index]
    ctx = step["context"]
    item, now = _work_item(ctx)
    seen: list[str] = []
    orch = INDEX.orchestrator(ctx["history"][1]["Name"])
    assert orch is not None
    real = orch.handle

    def spy(c: Any) -> str:
        seen.append(c.body)
        return real(c)

    object.__setattr__(orch, "handle", spy)
    try:
        commit = EpisodeRunner(INDEX, FixedClock(now)).run(item)
    finally:
        object.__setattr__(orch, "handle", real)
    # 1. the context JSON devhost built from its own (persisted) history is the recorded one
    assert len(seen) >= 1  # continue-as-new runs the next generation in the same work item
    assert json.loads(seen[0]) == ctx
    # 2. the SDK therefore answers as recorded
    state, error = invoke_orchestrator(real, json.dumps(ctx))
    recorded = step["result"]
    if recorded is not None:
        assert state == _state(recorded)
        if "raised" in recorded:
            assert error == recorded["raised"]["outOfProcData"]["error"]
    # 3. what the episode appends
    written = commit.history[0][1]
    j = max(i for i, e in enumerate(ctx["history"]) if e["EventType"] == 12)
    new_count = len(ctx["history"]) - j
    seg = _successor_segment(steps, index)
    if seg is not None:
        nxt = next(
            s
            for s in steps[index + 1 :]
            if s["context"]["history"][: len(ctx["history"])]
            and len(s["context"]["history"]) > len(ctx["history"])
        )["context"]["history"]
        # persisted IsPlayed flags of this episode's events are what the next step shows
        assert written[:new_count] == nxt[j : len(ctx["history"])]
        sched = [e for e in written[new_count:] if e["EventType"] in (4, 7, 10)]
        assert [_norm_sched(e) for e in sched] == [
            _norm_sched(e) for e in seg if e["EventType"] in (4, 7, 10)
        ]
    if recorded is None:
        return
    st = _state(recorded)
    assert st is not None
    completed = [e for e in written if e["EventType"] == 1]
    if "raised" in recorded:
        assert commit.instance is not None and commit.instance.runtime_status is RuntimeStatus.Failed
        assert completed and completed[0]["Result"] == (
            f"Orchestrator function '{ctx['history'][1]['Name']}' failed: {st['error']}"
        )
    elif st["isDone"] and any(a.get("actionType") == 4 for a in st["actions"][0]):
        can = next(a for a in st["actions"][0] if a.get("actionType") == 4)
        assert [e["EventType"] for e in written[-2:]] == [16, 13]
        assert written[-2]["Result"] == json.dumps(can["input"])
        assert len(commit.history) == 2 and commit.history[1][0] != commit.history[0][0]
        new_start = commit.history[1][1][1]
        assert new_start["EventType"] == 0 and new_start["Input"] == json.dumps(can["input"])
        assert len(seen) == 2 and json.loads(seen[1])["input"] == can["input"]
    elif (vector, index) in HANGS_IN_EXTENSION:
        assert not completed
        assert commit.instance is not None and commit.instance.runtime_status is RuntimeStatus.Running
    elif st["isDone"]:
        assert commit.instance is not None and commit.instance.runtime_status is RuntimeStatus.Completed
        assert completed and json.loads(completed[0]["Result"]) == st.get("output")
    elif not st["isDone"]:
        assert not completed
        assert commit.instance is not None and commit.instance.runtime_status is RuntimeStatus.Running
    if "customStatus" in st:
        assert (
            commit.instance is not None
            and json.loads(commit.instance.custom_status or "null") == st["customStatus"]
        )
