"""The memory store keeps each execution's history as JSON text (devhost/store/packed.py): what is read
back equals what was appended, in order and across appends, and nothing a reader does to what it got
changes what is stored."""

from __future__ import annotations

import datetime as dt

from devhost import history as h
from devhost.history import RuntimeStatus
from devhost.store.base import EpisodeCommit, InstanceRecord, OrchestrationMessage
from devhost.store.memory import MemoryStore
from devhost.store.packed import PackedHistory

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
LOCK = dt.timedelta(minutes=5)


def ts(seconds: int) -> str:
    return h.format_ts(T0 + dt.timedelta(seconds=seconds))


def test_packed_history_reads_back_what_was_appended_across_appends() -> None:
    raised = h.event_raised(ts(0), "Événement ✓", '{"n": 1.5, "ok": [true, null]}')
    first = [h.orchestrator_started(ts(0)), raised]
    second = [h.orchestrator_completed(ts(1))]
    packed = PackedHistory()
    assert (len(packed), packed.events()) == (0, [])
    packed.append(first)
    packed.append([])
    packed.append(second)
    assert len(packed) == 3
    assert packed.events() == first + second


def test_packed_history_hands_out_fresh_lists_and_dicts() -> None:
    event = h.event_raised(ts(0), "E", '"x"')
    packed = PackedHistory()
    packed.append([event])
    event["Name"] = "changed after append"
    got = packed.events()
    got[0]["Name"] = "changed by a reader"
    got.append(h.orchestrator_started(ts(1)))
    assert packed.events() == [h.event_raised(ts(0), "E", '"x"')]


async def test_memory_store_history_survives_what_readers_do_to_it() -> None:
    store = MemoryStore()
    rec = InstanceRecord("a", "orch", "x1", RuntimeStatus.Pending, T0, T0, input='"in"')
    start = h.execution_started(ts(0), instance_id="a", execution_id="x1", name="orch", input_json='"in"')
    await store.create_instance(rec, OrchestrationMessage("a", start, execution_id="x1"), replaceable=None)
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None and list(item.history) == []
    events = [h.orchestrator_started(ts(0)), start, h.orchestrator_completed(ts(0))]
    running = rec.copy()
    running.runtime_status = RuntimeStatus.Running
    await store.commit_episode(item, EpisodeCommit(instance=running, history=[("x1", events)]))

    got = await store.get_history("a")
    assert got == events
    got[0]["EventType"] = 99
    got.clear()
    assert await store.get_history("a", "x1") == events

    await store.send_messages([OrchestrationMessage("a", h.event_raised(ts(1), "E", '"1"'))])
    item = await store.lock_next_orchestration(T0 + dt.timedelta(seconds=1), LOCK)
    assert item is not None and list(item.history) == events
    assert isinstance(item.history, list)
    item.history[1]["Input"] = "changed by the engine"
    assert await store.get_history("a") == events
