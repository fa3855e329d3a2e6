"""The memory store serves work for running instances before instances a client has just started, so a
burst of starts does not put every one of them in flight at once (bench/README.md, "Parked at scale")."""

from __future__ import annotations

import datetime as dt

from devhost import history as h
from devhost.history import RuntimeStatus
from devhost.store.base import InstanceRecord, OrchestrationMessage
from devhost.store.memory import MemoryStore

T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
LOCK = dt.timedelta(minutes=5)
TS = h.format_ts(T0)


def started(iid: str) -> h.HistoryEvent:
    return h.execution_started(TS, instance_id=iid, execution_id="x-" + iid, name="Booking", input_json="1")


async def client_start(store: MemoryStore, iid: str) -> None:
    rec = InstanceRecord(iid, "Booking", "x-" + iid, RuntimeStatus.Pending, T0, T0)
    await store.create_instance(rec, OrchestrationMessage(iid, started(iid), "x-" + iid), replaceable=None)


async def lock_order(store: MemoryStore) -> list[str]:
    order = []
    while (item := await store.lock_next_orchestration(T0, LOCK)) is not None:
        order.append(item.instance_id)
    return order


async def test_messages_for_running_instances_and_new_children_go_before_client_starts() -> None:
    store = MemoryStore()
    for iid in ("b1", "b2", "b3"):
        await client_start(store, iid)
    # Sent by episodes of instances already running: a child's start, an activity's result.
    await store.send_messages([
        OrchestrationMessage("b0:trip:0", started("b0:trip:0"), "x-b0:trip:0"),
        OrchestrationMessage("r1", h.task_completed(TS, 0, "2")),
    ])
    assert await lock_order(store) == ["b0:trip:0", "r1", "b1", "b2", "b3"]


async def test_a_started_instance_that_is_locked_comes_back_with_the_running_ones() -> None:
    store = MemoryStore()
    await client_start(store, "b1")
    await client_start(store, "b2")
    item = await store.lock_next_orchestration(T0, LOCK)
    assert item is not None and item.instance_id == "b1"
    await store.send_messages([OrchestrationMessage("b1", h.event_raised(TS, "go", "1"))])
    await store.abandon_orchestration(item)
    assert await lock_order(store) == ["b1", "b2"]
