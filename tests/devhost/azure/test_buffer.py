"""The control-queue buffer on Azurite (PROTOCOL.md §6.1): receiving pauses while this process holds
``controlQueueBufferThreshold`` messages, a message sent meanwhile waits visible in its queue, and receiving
resumes once deletes drain the buffer below the threshold."""

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from azure.storage.queue.aio import QueueClient

from devhost import history as h
from devhost.config import ConfigError, load_host_config
from devhost.store.azure import AzureStorageStore, create_store, keys
from devhost.store.azure.receiver import WORK_ITEMS_HELD_MAX
from devhost.store.base import ActivityMessage
from tests.devhost.azure.test_store import LOCK, now, start
from tests.support.azurite import Azurite

THRESHOLD = 4


@pytest.fixture
async def client(azurite: Azurite, hub_name: str) -> AsyncIterator[AzureStorageStore]:
    """A store that never dispatches: what it sends goes to the queues visible, as from another process."""
    store = create_store(azurite.connection_string, hub_name=hub_name, partition_count=1)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def worker(azurite: Azurite, hub_name: str) -> AsyncIterator[AzureStorageStore]:
    store = create_store(
        azurite.connection_string,
        hub_name=hub_name,
        partition_count=1,
        max_polling_interval=0.2,
        buffer_threshold=THRESHOLD,
    )
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def visible_in_queue(azurite: Azurite, hub: str) -> int:
    name = keys.HubNames.of(hub, 1).control_queues[0]
    async with QueueClient.from_connection_string(azurite.connection_string, name) as queue:
        return len(await queue.peek_messages(max_messages=32))


async def poll_until(store: AzureStorageStore, buffered: int, seconds: float = 10) -> None:
    """Poll as the dispatcher does (back-off included) until the buffer holds ``buffered`` messages."""
    deadline = now() + dt.timedelta(seconds=seconds)
    while store.receiver.buffered() < buffered and now() < deadline:
        await store.receiver.poll(LOCK)
        await store.wait_for_work(0.1)


async def start_many(store: AzureStorageStore, prefix: str, count: int) -> None:
    for i in range(count):
        await start(store, f"{prefix}-{i}")


async def test_receiving_pauses_at_the_threshold_and_resumes_when_the_buffer_drains(
    azurite: Azurite, client: AzureStorageStore, worker: AzureStorageStore
) -> None:
    rx = worker.receiver
    await start_many(client, "first", 6)
    assert await worker.lock_next_orchestration(now(), LOCK) is not None  # one receive: the whole batch
    assert rx.buffered() == 6 and rx.buffer_full()

    await start_many(client, "second", 3)
    # Polls while full leave the queue alone, however long the dispatcher keeps asking.
    await poll_until(worker, 9, seconds=1.5)
    assert rx.buffered() == 6
    assert await visible_in_queue(azurite, worker.hub) == 3

    # Deleting (what a checkpoint does last) drains the buffer; below the threshold receiving resumes.
    for iid in [i for i in list(rx.held) if i not in rx.locked][:3]:
        await rx.delete(iid, list(rx.held[iid].values()))
    assert rx.buffered() == 3 and not rx.buffer_full()
    await poll_until(worker, 6)
    assert rx.buffered() == 6
    assert await visible_in_queue(azurite, worker.hub) == 0


async def test_a_message_sent_while_the_buffer_is_full_waits_visible_in_its_queue(
    azurite: Azurite, client: AzureStorageStore, worker: AzureStorageStore
) -> None:
    rx = worker.receiver
    assert await worker.lock_next_orchestration(now(), LOCK) is None  # it dispatches: its sends are held
    await start(worker, "held")
    assert rx.buffered() == 1 and await visible_in_queue(azurite, worker.hub) == 0

    await start_many(client, "filler", THRESHOLD)
    await poll_until(worker, 1 + THRESHOLD)
    assert rx.buffer_full()
    await start(worker, "queued")  # not held: it stays in the queue, where holding it costs nothing
    assert "queued" not in rx.held
    assert await visible_in_queue(azurite, worker.hub) == 1

    # It is read once the buffer drains, and then runs like any other message.
    for iid in [i for i in list(rx.held) if i not in rx.locked]:
        await rx.delete(iid, list(rx.held[iid].values()))
    deadline = now() + dt.timedelta(seconds=20)
    item = None
    while item is None and now() < deadline:
        item = await worker.lock_next_orchestration(now(), LOCK)
        if item is None:
            await worker.wait_for_work(0.1)
    assert item is not None and item.instance_id == "queued"


async def test_held_messages_of_an_instance_that_waits_its_turn_are_not_renewed_before_their_time(
    azurite: Azurite, hub_name: str
) -> None:
    """The renewal rule: a held message's lease is renewed when a third of it is left, not sooner — so a
    fresh lease is left alone by a renewal pass, and one near its end is renewed once."""
    store = create_store(azurite.connection_string, hub_name=hub_name, partition_count=1, lease_seconds=30)
    await store.open()
    try:
        assert await store.lock_next_orchestration(now(), dt.timedelta(seconds=30)) is None
        await start(store, "waiting-" + uuid.uuid4().hex[:6])
        rx = store.receiver
        (held,) = [r for per in rx.held.values() for r in per.values()]
        receipt = held.pop_receipt
        await rx.renew_due()
        assert held.pop_receipt == receipt  # 30 s left: nothing to renew
        held.expires -= 25  # as if 25 of its 30 s had passed
        await rx.renew_due()
        assert held.pop_receipt != receipt  # renewed once, for a whole lease
        renewed = held.pop_receipt
        await rx.renew_due()
        assert held.pop_receipt == renewed
    finally:
        await store.close()


def test_the_threshold_comes_from_host_json_with_the_extensions_default_and_range(tmp_path: Path) -> None:
    assert load_host_config(tmp_path, {}).control_queue_buffer_threshold == 256
    provider = {"controlQueueBufferThreshold": 32}
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"storageProvider": provider}}})
    )
    assert load_host_config(tmp_path, {}).control_queue_buffer_threshold == 32
    provider["controlQueueBufferThreshold"] = 1001
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"storageProvider": provider}}})
    )
    with pytest.raises(ConfigError, match="controlQueueBufferThreshold must be between 1 and 1000"):
        load_host_config(tmp_path, {})


def test_a_visibility_timeout_in_host_json_becomes_the_stores_lease(tmp_path: Path) -> None:
    from devhost.cli import open_store

    assert load_host_config(tmp_path, {}).control_queue_visibility_timeout is None
    conn = "UseDevelopmentStorage=true"
    default = open_store(conn, load_host_config(tmp_path, {}))
    assert isinstance(default, AzureStorageStore) and default.lease_seconds == 10
    provider = {"controlQueueVisibilityTimeout": "00:05:00", "controlQueueBufferThreshold": 64}
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"storageProvider": provider}}})
    )
    store = open_store(conn, load_host_config(tmp_path, {}))
    assert isinstance(store, AzureStorageStore)
    assert (store.lease_seconds, store.buffer_threshold) == (300, 64)
    provider["controlQueueVisibilityTimeout"] = "00:00:30"
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"storageProvider": provider}}})
    )
    with pytest.raises(ConfigError, match="between 1 and 60 minutes"):
        load_host_config(tmp_path, {})


async def test_activities_sent_past_one_batch_wait_in_the_queue_not_in_memory(
    azurite: Azurite, worker: AzureStorageStore
) -> None:
    """PROTOCOL.md §6.2: the runtime holds no waiting activity messages; devhost holds one receive batch of
    the ones it sends itself, and puts the rest visible in the work-item queue, where no lease is renewed."""
    rx = worker.receiver
    assert await worker.lock_next_orchestration(now(), LOCK) is None  # this process now runs dispatchers
    extra = 5
    sent = []
    for i in range(WORK_ITEMS_HELD_MAX + extra):
        event = h.task_scheduled(h.format_ts(now()), i, "act", '"x"')
        message = ActivityMessage(f"act-{i}", "ex", event)
        sent.append(message.message_id)
        await rx.send(await rx.to_work(message))
    assert len(rx.work.held) == WORK_ITEMS_HELD_MAX
    name = keys.HubNames.of(worker.hub, 1).workitem_queue
    async with QueueClient.from_connection_string(azurite.connection_string, name) as queue:
        assert len(await queue.peek_messages(max_messages=32)) == extra
    # Every one of them is still delivered: the held ones first, then the queued ones.
    got = []
    for _ in range(200):
        item = await worker.lock_next_activity(now(), LOCK)
        if item is None:
            await worker.wait_for_work(0.1)
            continue
        got.append(item.message.message_id)
        if len(got) == len(sent):
            break
    assert sorted(got) == sorted(sent)
