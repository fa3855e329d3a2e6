"""The memory store keeps a history no episode will extend soon (a finished instance's, an execution it
continued as new from, a waiting instance's) as compressed JSON text, and gives back exactly the events it was
given: to queries, to the episode of a late message for the finished instance, to the episode that wakes a
waiting one."""

from __future__ import annotations

import datetime as dt

from devhost import history as h
from devhost.history import RuntimeStatus
from devhost.store.base import (
    ActivityMessage,
    EpisodeCommit,
    InstanceQuery,
    InstanceRecord,
    OrchestrationMessage,
)
from devhost.store.memory import MemoryStore

T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
LOCK = dt.timedelta(minutes=5)


def ts(seconds: int) -> str:
    return h.format_ts(T0 + dt.timedelta(seconds=seconds))


def record(status: RuntimeStatus, execution_id: str = "x1") -> InstanceRecord:
    return InstanceRecord("i1", "Trip", execution_id, status, T0, T0, input='{"trip":"BER — Ω"}')


def started(execution_id: str) -> h.HistoryEvent:
    return h.execution_started(ts(0), instance_id="i1", execution_id=execution_id, name="Trip",
                               input_json='{"trip":"BER — Ω"}')


def kept_as_text(store: MemoryStore, execution_id: str) -> bool:
    return isinstance(store._histories["i1"][execution_id], bytes)


async def start(store: MemoryStore) -> list[h.HistoryEvent]:
    """Create i1 and commit its first episode (running, one activity scheduled)."""
    await store.create_instance(record(RuntimeStatus.Pending),
                                OrchestrationMessage("i1", started("x1"), "x1"), replaceable=None)
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None
    quote = h.task_scheduled(ts(1), 0, "Quote", '"BER"')
    events = [h.orchestrator_started(ts(1)), h.as_persisted(started("x1")), quote,
              h.orchestrator_completed(ts(1))]
    await store.commit_episode(item, EpisodeCommit(instance=record(RuntimeStatus.Running),
                                                   history=[("x1", events)],
                                                   activities=[ActivityMessage("i1", "x1", quote)]))
    return events


async def test_a_running_instance_keeps_its_events_and_a_finished_one_keeps_compressed_text() -> None:
    store = MemoryStore()
    first = await start(store)
    assert isinstance(store._histories["i1"]["x1"], list)
    await store.send_messages([OrchestrationMessage("i1", h.task_completed(ts(2), 0, '{"price":1}'), "x1")])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None and list(item.history) == first
    last = [h.orchestrator_started(ts(3)), h.task_completed(ts(2), 0, '{"price":1}'),
            h.execution_completed(ts(3), 1, RuntimeStatus.Completed, '{"ok":true}'),
            h.orchestrator_completed(ts(3))]
    await store.commit_episode(item, EpisodeCommit(instance=record(RuntimeStatus.Completed),
                                                   history=[("x1", last)]))
    assert isinstance(store._histories["i1"]["x1"], bytes)
    assert await store.get_history("i1") == first + last

    # A late message for the finished instance: its episode gets the same events back.
    await store.send_messages([OrchestrationMessage("i1", h.event_raised(ts(4), "Late", "1"))])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None and list(item.history) == first + last
    await store.commit_episode(item, EpisodeCommit())
    assert await store.get_history("i1", "x1") == first + last


async def test_the_execution_continued_from_is_text_and_the_new_one_grows() -> None:
    store = MemoryStore()
    first = await start(store)
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is None  # nothing pending
    await store.send_messages([OrchestrationMessage("i1", h.event_raised(ts(2), "Again", "1"), "x1")])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None
    closing = [h.orchestrator_started(ts(2)), h.continue_as_new(ts(2), 1, "1"),
               h.orchestrator_completed(ts(2))]
    quote = h.task_scheduled(ts(2), 0, "Quote", '"BER"')
    head = [h.orchestrator_started(ts(2)), h.as_persisted(started("x2")), quote,
            h.orchestrator_completed(ts(2))]
    await store.commit_episode(item, EpisodeCommit(instance=record(RuntimeStatus.Running, "x2"),
                                                   history=[("x1", closing), ("x2", head)],
                                                   activities=[ActivityMessage("i1", "x2", quote)]))
    assert isinstance(store._histories["i1"]["x1"], bytes)
    assert store._histories["i1"]["x2"] == head
    assert await store.get_history("i1", "x1") == first + closing
    assert await store.get_history("i1") == head


async def test_a_waiting_instance_keeps_text_until_a_message_wakes_it() -> None:
    store = MemoryStore()
    first = await start(store)
    await store.send_messages([OrchestrationMessage("i1", h.task_completed(ts(2), 0, '{"price":1}'), "x1")])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None
    # The episode creates a timer (a message to itself with a delay) and waits for it or for an event.
    due = T0 + dt.timedelta(hours=1)
    waiting = [h.orchestrator_started(ts(3)), h.task_completed(ts(2), 0, '{"price":1}'),
               h.timer_created(ts(3), 1, h.format_ts(due)), h.orchestrator_completed(ts(3))]
    timer = OrchestrationMessage("i1", h.timer_fired(ts(3), 1, h.format_ts(due)), "x1", visible_at=due)
    await store.commit_episode(item, EpisodeCommit(instance=record(RuntimeStatus.Running),
                                                   history=[("x1", waiting)], messages=[timer]))
    assert kept_as_text(store, "x1")
    assert await store.get_history("i1") == first + waiting

    # An event from outside wakes it: its episode reads the same events, and one that schedules work leaves
    # the history as events again.
    await store.send_messages([OrchestrationMessage("i1", h.event_raised(ts(4), "Paid", "1"))])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None and list(item.history) == first + waiting
    confirm = h.task_scheduled(ts(5), 2, "Confirm", "1")
    busy = [h.orchestrator_started(ts(5)), h.event_raised(ts(4), "Paid", "1"), confirm,
            h.orchestrator_completed(ts(5))]
    await store.commit_episode(item, EpisodeCommit(instance=record(RuntimeStatus.Running),
                                                   history=[("x1", busy)],
                                                   activities=[ActivityMessage("i1", "x1", confirm)]))
    assert not kept_as_text(store, "x1")
    assert await store.get_history("i1") == first + waiting + busy


async def test_an_instance_with_a_message_waiting_or_an_answer_coming_keeps_its_events() -> None:
    store = MemoryStore()
    await start(store)
    await store.send_messages([OrchestrationMessage("i1", h.task_completed(ts(2), 0, '{"price":1}'), "x1")])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None
    # An event arrives while the episode runs, which schedules nothing: the next episode is due at once.
    await store.send_messages([OrchestrationMessage("i1", h.event_raised(ts(3), "Go", "1"))])
    events = [h.orchestrator_started(ts(3)), h.task_completed(ts(2), 0, '{"price":1}'),
              h.orchestrator_completed(ts(3))]
    await store.commit_episode(item, EpisodeCommit(instance=record(RuntimeStatus.Running),
                                                   history=[("x1", events)]))
    assert isinstance(store._histories["i1"]["x1"], list)

    # That episode starts a child, whose answer comes soon.
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None
    child = OrchestrationMessage("i1:c", started("c1"), "c1")
    await store.commit_episode(item, EpisodeCommit(instance=record(RuntimeStatus.Running), history=[("x1", [
        h.orchestrator_started(ts(4)), h.event_raised(ts(3), "Go", "1"), h.orchestrator_completed(ts(4))])],
        messages=[child]))
    assert isinstance(store._histories["i1"]["x1"], list)


async def test_a_waiting_or_finished_row_keeps_its_payloads_compressed_and_gives_them_back_whole() -> None:
    store = MemoryStore()
    await start(store)
    await store.send_messages([OrchestrationMessage("i1", h.task_completed(ts(2), 0, '{"price":1}'), "x1")])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None
    view = '{"status":"AwaitingPayment","traveller":"Zoë — ' + "x" * 600 + '"}'
    waiting = InstanceRecord("i1", "Trip", "x1", RuntimeStatus.Running, T0, T0, input='{"trip":"BER — Ω"}',
                             custom_status=view)
    due = T0 + dt.timedelta(hours=1)
    timer = OrchestrationMessage("i1", h.timer_fired(ts(3), 1, h.format_ts(due)), "x1", visible_at=due)
    await store.commit_episode(item, EpisodeCommit(instance=waiting, history=[("x1", [
        h.orchestrator_started(ts(3)), h.timer_created(ts(3), 1, h.format_ts(due)),
        h.orchestrator_completed(ts(3))])], messages=[timer]))
    assert store._instances["i1"].custom_status is None and "i1" in store._payloads

    assert await store.get_instance("i1") == waiting
    (listed,), _ = await store.query_instances(InstanceQuery(), 10, None)
    assert listed == waiting
    (bare,), _ = await store.query_instances(InstanceQuery(payloads=False), 10, None)
    assert bare == waiting.without_payloads()
    await store.send_messages([OrchestrationMessage("i1", h.event_raised(ts(4), "Paid", "1"))])
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None and item.instance == waiting

    # Running again: the row is kept whole; purged: nothing is left of it.
    confirm = h.task_scheduled(ts(5), 2, "Confirm", "1")
    await store.commit_episode(item, EpisodeCommit(instance=waiting, history=[("x1", [
        h.orchestrator_started(ts(5)), confirm, h.orchestrator_completed(ts(5))])],
        activities=[ActivityMessage("i1", "x1", confirm)]))
    assert store._instances["i1"] == waiting and "i1" not in store._payloads
    await store.purge_instance("i1")
    assert "i1" not in store._payloads and await store.get_instance("i1") is None
