"""The Azure Storage store on Azurite: the episode cycle, the PROTOCOL.md §6 table layout, crash
redelivery, duplicates, large payloads, queries and wake-ups."""

import asyncio
import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from azure.data.tables.aio import TableClient
from azure.storage.queue.aio import QueueClient

from devhost import history as h
from devhost.history import EventType, RuntimeStatus
from devhost.store.azure import AzureStorageStore, StorageUnavailableError, create_store, keys
from devhost.store.base import (
    ActivityMessage,
    EpisodeCommit,
    InstanceQuery,
    InstanceRecord,
    OrchestrationMessage,
    OrchestrationWorkItem,
)
from tests.support.azurite import Azurite

LOCK = dt.timedelta(seconds=30)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def start(store: AzureStorageStore, iid: str, input_json: str = '"hi"') -> tuple[InstanceRecord, str]:
    ex = uuid.uuid4().hex
    t = now()
    rec = InstanceRecord(iid, "orch", ex, RuntimeStatus.Pending, t, t, input=input_json)
    event = h.execution_started(
        h.format_ts(t), instance_id=iid, execution_id=ex, name="orch", input_json=input_json
    )
    await store.create_instance(rec, OrchestrationMessage(iid, event, execution_id=ex), replaceable=None)
    return rec, ex


async def lock(
    store: AzureStorageStore, lock_for: dt.timedelta = LOCK, tries: int = 200
) -> OrchestrationWorkItem:
    for _ in range(tries):
        item = await store.lock_next_orchestration(now(), lock_for)
        if item is not None:
            return item
        await store.wait_for_work(0.1)
    raise AssertionError("no orchestration work item arrived")


def first_episode(item: OrchestrationWorkItem, rec: InstanceRecord, ex: str) -> EpisodeCommit:
    ts = h.format_ts(now())
    scheduled = h.task_scheduled(ts, 0, "act", '"x"')
    events = [h.orchestrator_started(ts), item.messages[0].event, scheduled, h.orchestrator_completed(ts)]
    running = rec.copy()
    running.runtime_status = RuntimeStatus.Running
    return EpisodeCommit(
        instance=running, history=[(ex, events)], activities=[ActivityMessage(rec.instance_id, ex, scheduled)]
    )


async def crash_in_checkpoint(
    azurite: Azurite, hub_name: str, iid: str, lease: dt.timedelta, at: str, *, killed: bool = False
) -> str:
    """Start ``iid`` and commit its first episode on a host that fails at step ``at`` of the checkpoint (a
    method of one of the store's parts, e.g. ``journal.apply``); returns the execution id. The episode's
    history is durable; what ``at`` would have done is not. The host then closes, handing the messages it
    holds back at once — unless ``killed``: then they stay leased for ``lease``, as after a kill -9."""
    crashed = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2)
    await crashed.open()
    rec, ex = await start(crashed, iid)
    item = await lock(crashed, lease)

    async def die(*_args: object) -> None:
        raise RuntimeError(f"host killed at {at}")

    part, step = at.split(".")
    setattr(getattr(crashed, part), step, die)
    await crashed.commit_episode(item, first_episode(item, rec, ex))  # history is durable when it returns
    await crashed.flush()  # the rest of the checkpoint fails in the background
    if killed:

        async def nothing_handed_back() -> None:
            return None

        crashed.receiver.give_back = nothing_handed_back  # type: ignore[method-assign]
    await crashed.close()
    return ex


async def table_rows(azurite: Azurite, table: str, pk: str) -> list[dict[str, Any]]:
    async with TableClient.from_connection_string(azurite.connection_string, table) as client:
        return [dict(e) async for e in client.query_entities("PartitionKey eq @pk", parameters={"pk": pk})]


async def test_episode_cycle_writes_the_dtfx_table_layout(
    azure_store: AzureStorageStore, azurite: Azurite
) -> None:
    iid = "order/42#a"
    rec, ex = await start(azure_store, iid)
    item = await lock(azure_store)
    assert item.instance_id == iid and item.history == ()
    assert [m.event["EventType"] for m in item.messages] == [EventType.ExecutionStarted]
    await azure_store.commit_episode(item, first_episode(item, rec, ex))

    act = await azure_store.lock_next_activity(now(), LOCK)
    for _ in range(50):
        if act is not None:
            break
        await azure_store.wait_for_work(0.1)
        act = await azure_store.lock_next_activity(now(), LOCK)
    assert act is not None and act.message.event["Name"] == "act"
    done = h.task_completed(h.format_ts(now()), 0, '"done"')
    await azure_store.complete_activity(act, OrchestrationMessage(iid, done, execution_id=ex))
    item2 = await lock(azure_store)
    assert [m.event for m in item2.messages] == [done]
    assert len(item2.history) == 4

    pk = keys.escape_partition_key(iid)
    assert pk == "order^042^2a"
    hub = azure_store.hub
    history = await table_rows(azurite, f"{hub}History", pk)
    by_key = {r["RowKey"]: r for r in history}
    assert sorted(by_key) == [
        "0000000000000000",
        "0000000000000001",
        "0000000000000002",
        "0000000000000003",
        "sentinel",
    ]
    assert [by_key[k]["EventType"] for k in sorted(by_key) if k != "sentinel"] == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled",
        "OrchestratorCompleted",
    ]
    started = by_key["0000000000000001"]
    assert started["ExecutionId"] == ex and started["Name"] == "orch" and started["Input"] == '"hi"'
    assert json.loads(started["OrchestrationInstance"]) == {"InstanceId": iid, "ExecutionId": ex}
    assert (
        isinstance(started["_Timestamp"], dt.datetime) and "IsPlayed" in started and started["EventId"] == -1
    )
    assert by_key["0000000000000002"]["Name"] == "act" and by_key["0000000000000002"]["EventId"] == 0
    sentinel = by_key["sentinel"]
    assert sentinel["ExecutionId"] == ex and sentinel["IsCheckpointComplete"] is True
    assert isinstance(sentinel["CheckpointCompletedTimestamp"], dt.datetime)

    [row] = await table_rows(azurite, f"{hub}Instances", pk)
    assert row["RowKey"] == "" and row["RuntimeStatus"] == "Running" and row["Name"] == "orch"
    assert row["ExecutionId"] == ex and row["Input"] == '"hi"' and row["CustomStatus"] == "null"
    assert row["TaskHubName"] == hub and row["Generation"] == 0
    assert isinstance(row["CreatedTime"], dt.datetime) and isinstance(row["LastUpdatedTime"], dt.datetime)


async def test_message_redelivered_after_a_crash_is_recovered_not_replayed(
    azurite: Azurite, hub_name: str
) -> None:
    short = dt.timedelta(seconds=1)
    await crash_in_checkpoint(azurite, hub_name, "crashy", short, at="journal.apply")
    assert (await table_rows(azurite, f"{hub_name}Instances", "crashy"))[0]["RuntimeStatus"] == "Pending"

    fresh = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2)
    await fresh.open()
    try:
        act = None
        for _ in range(100):  # the start message comes back after its 1 s lease
            assert await fresh.lock_next_orchestration(now(), short) is None
            act = await fresh.lock_next_activity(now(), LOCK)
            if act is not None:
                break
            await fresh.wait_for_work(0.1)
        assert act is not None, "the journal's activity message was not re-sent"
        assert act.message.event["Name"] == "act"
        assert (await fresh.get_instance("crashy")).runtime_status is RuntimeStatus.Running  # type: ignore[union-attr]
        assert len(await fresh.get_history("crashy")) == 4
        assert fresh.held_message_count() == 0
    finally:
        await fresh.close()


async def test_duplicate_completions_reach_the_engine_once(azure_store: AzureStorageStore) -> None:
    rec, ex = await start(azure_store, "dup")
    item = await lock(azure_store)
    await azure_store.commit_episode(item, first_episode(item, rec, ex))
    done = h.task_completed(h.format_ts(now()), 0, '"r"')
    await azure_store.send_messages([OrchestrationMessage("dup", done, execution_id=ex) for _ in range(2)])
    item = await lock(azure_store)
    assert [m.event["EventType"] for m in item.messages] == [EventType.TaskCompleted]
    ts = h.format_ts(now())
    events = [
        h.orchestrator_started(ts),
        done,
        h.execution_completed(ts, 1, RuntimeStatus.Completed, '"r"'),
        h.orchestrator_completed(ts),
    ]
    finished = item.instance.copy()  # type: ignore[union-attr]
    finished.runtime_status = RuntimeStatus.Completed
    await azure_store.commit_episode(item, EpisodeCommit(instance=finished, history=[(ex, events)]))
    # A third copy arriving late is dropped as well: its completion is already in history.
    await azure_store.send_messages([OrchestrationMessage("dup", done, execution_id=ex)])
    for _ in range(20):
        assert await azure_store.lock_next_orchestration(now(), LOCK) is None
        await azure_store.wait_for_work(0.05)
    assert len(await azure_store.get_history("dup")) == 8


async def test_large_payloads_live_in_blobs(azure_store: AzureStorageStore, azurite: Azurite) -> None:
    big = json.dumps("x" * 100_000)
    rec, ex = await start(azure_store, "big", input_json=big)
    [row] = await table_rows(azurite, f"{azure_store.hub}Instances", "big")
    assert row["Input"].startswith("http://127.0.0.1:") and "-largemessages/big/" in row["Input"]
    assert (await azure_store.get_instance("big")).input == big  # type: ignore[union-attr]
    item = await lock(azure_store)  # the ExecutionStarted message (> 45 KB) came through a blob
    assert item.messages[0].event["Input"] == big
    await azure_store.commit_episode(item, first_episode(item, rec, ex))
    history = {r["RowKey"]: r for r in await table_rows(azurite, f"{azure_store.hub}History", "big")}
    started = history["0000000000000001"]
    assert started["Input"] == ""
    assert re.fullmatch(
        r"big/history-0000000000000001-ExecutionStarted-[0-9A-F]{8}-Input\.json\.gz", started["InputBlobName"]
    )
    assert (await azure_store.get_history("big"))[1]["Input"] == big


async def test_queue_messages_are_dtfx_json(azure_store: AzureStorageStore, azurite: Azurite) -> None:
    await azure_store.send_messages(
        [OrchestrationMessage("peek", h.event_raised(h.format_ts(now()), "go", "1"))]
    )
    name = keys.HubNames.of(azure_store.hub, 4).control_queues[keys.partition_index("peek", 4)]
    async with QueueClient.from_connection_string(azurite.connection_string, name) as queue:
        [peeked] = await queue.peek_messages()
    body = json.loads(peeked.content)
    assert body["$type"] == "DurableTask.AzureStorage.MessageData"
    assert body["TaskMessage"]["Event"]["$type"] == "DurableTask.Core.History.EventRaisedEvent"
    assert body["TaskMessage"]["OrchestrationInstance"]["InstanceId"] == "peek"


async def test_delayed_message_is_not_delivered_early(azure_store: AzureStorageStore) -> None:
    fire = now() + dt.timedelta(seconds=2)
    msg = OrchestrationMessage(
        "timer", h.timer_fired(h.format_ts(now()), 0, h.format_ts(fire)), visible_at=fire
    )
    await azure_store.send_messages([msg])
    while True:
        t = now()
        item = await azure_store.lock_next_orchestration(t, LOCK)
        if item is not None:
            break
        await azure_store.wait_for_work(0.2)
    assert t >= fire
    assert item.messages[0].event["TimerId"] == 0


async def test_query_filters_and_continuation(azure_store: AzureStorageStore) -> None:
    for i in range(5):
        await start(azure_store, f"q-{i}")
    await start(azure_store, "other")
    seen: list[str] = []
    token = None
    while True:
        page, token = await azure_store.query_instances(InstanceQuery(instance_id_prefix="q-"), 2, token)
        assert len(page) <= 2
        seen += [r.instance_id for r in page]
        if token is None:
            break
        assert token.startswith("az:")
    assert sorted(seen) == [f"q-{i}" for i in range(5)]
    running, _ = await azure_store.query_instances(
        InstanceQuery(runtime_status=frozenset({RuntimeStatus.Running})), 100, None
    )
    assert running == []
    pending, _ = await azure_store.query_instances(
        InstanceQuery(runtime_status=frozenset({RuntimeStatus.Pending}), created_to=now()), 100, None
    )
    assert len(pending) == 6
    with pytest.raises(ValueError, match="continuation"):
        await azure_store.query_instances(InstanceQuery(), 10, "bogus")


async def test_local_enqueue_wakes_a_waiting_dispatcher(azure_store: AzureStorageStore) -> None:
    for _ in range(8):  # back the poller off
        assert await azure_store.lock_next_orchestration(now(), LOCK) is None
        await azure_store.wait_for_work(0.3)
    waiter = asyncio.create_task(azure_store.wait_for_work(30))
    await asyncio.sleep(0.05)
    await start(azure_store, "wake")
    await asyncio.wait_for(waiter, 10)
    assert (await lock(azure_store, tries=5)).instance_id == "wake"


async def test_open_fails_fast_with_one_line_when_storage_is_unreachable(hub_name: str) -> None:
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + "A" * 88 + ";"
        "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    store = create_store(conn, hub_name=hub_name)
    with pytest.raises(StorageUnavailableError, match="cannot be reached") as info:
        await asyncio.wait_for(store.open(), 60)
    assert "\n" not in str(info.value)


async def test_crash_after_sending_but_before_deleting_duplicates_nothing(
    azurite: Azurite, hub_name: str
) -> None:
    short = dt.timedelta(seconds=1)
    ex = await crash_in_checkpoint(azurite, hub_name, "late-delete", short, at="receiver.delete")

    fresh = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2)
    await fresh.open()
    try:
        # The start message returns after its lease. Its checkpoint was applied to the end (the row shows
        # it), so the journal is not sent again: the activity is queued once and the start is dropped.
        activities = []
        for _ in range(40):  # 4 s: the start's 1 s lease has lapsed long before
            assert await fresh.lock_next_orchestration(now(), short) is None
            act = await fresh.lock_next_activity(now(), LOCK)
            if act is not None:
                activities.append(act)
            await fresh.wait_for_work(0.1)
        assert [a.message.event["Name"] for a in activities] == ["act"]
        assert fresh.held_message_count() == 0, "the redelivered start was not recognised and deleted"
        done = h.task_completed(h.format_ts(now()), 0, '"r"')
        await fresh.complete_activity(
            activities[0], OrchestrationMessage("late-delete", done, execution_id=ex)
        )
        item = await lock(fresh)
        assert [m.event["EventType"] for m in item.messages] == [EventType.TaskCompleted]
        assert len(item.history) == 4
    finally:
        await fresh.close()


@pytest.mark.parametrize("at", ["journal.apply", "journal._send", "rows.update"])
async def test_a_message_that_beats_the_redelivery_still_gets_the_cut_short_checkpoint_finished(
    azurite: Azurite, hub_name: str, at: str
) -> None:
    """After a restart a new message (a cancel raised into a booking) may arrive while the dead worker's
    messages are still leased. Its episode replaces the journal, so the dead worker's unsent effects must
    be sent first — here the activity it scheduled; otherwise the instance waits for it for ever."""
    lease = dt.timedelta(seconds=30)  # the dead worker's start message stays invisible throughout the test
    ex = await crash_in_checkpoint(azurite, hub_name, "beaten", lease, at=at, killed=True)

    fresh = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2)
    await fresh.open()
    try:
        raised = h.event_raised(h.format_ts(now()), "Cancel", '"now"')
        await fresh.send_messages([OrchestrationMessage("beaten", raised, execution_id=ex)])
        item = await lock(fresh)
        assert [m.event["EventType"] for m in item.messages] == [EventType.EventRaised]
        assert len(item.history) == 4
        act = await fresh.lock_next_activity(now(), LOCK)
        assert act is not None, "the dead worker's activity was never sent"
        assert act.message.event["Name"] == "act"
        assert (await table_rows(azurite, f"{hub_name}Instances", "beaten"))[0]["RuntimeStatus"] == "Running"
    finally:
        await fresh.close()


async def test_a_finished_checkpoint_read_cold_is_never_sent_again(azurite: Azurite, hub_name: str) -> None:
    """A checkpoint applied to the end, read cold by a new process that gets a new message: its activity
    work is not sent a second time (it may have run, and been undone, long ago)."""
    first = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2)
    await first.open()
    rec, ex = await start(first, "finished")
    item = await lock(first)
    await first.commit_episode(item, first_episode(item, rec, ex))
    await first.flush()
    assert (await first.lock_next_activity(now(), LOCK)) is not None  # the one copy, taken by this host
    await first.close()

    fresh = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2)
    await fresh.open()
    try:
        raised = h.event_raised(h.format_ts(now()), "Cancel", '"now"')
        await fresh.send_messages([OrchestrationMessage("finished", raised, execution_id=ex)])
        item = await lock(fresh)
        assert [m.event["EventType"] for m in item.messages] == [EventType.EventRaised]
        assert await fresh.lock_next_activity(now(), LOCK) is None, "a finished checkpoint's work was re-sent"
    finally:
        await fresh.close()


async def test_held_work_stays_leased_while_running_and_returns_after_a_crash(
    azurite: Azurite, hub_name: str
) -> None:
    holder = create_store(
        azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2, lease_seconds=1
    )
    other = create_store(
        azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2, lease_seconds=1
    )
    await holder.open()
    await other.open()
    try:
        rec, ex = await start(holder, "leased")
        item = await lock(holder)
        await holder.commit_episode(item, first_episode(item, rec, ex))
        act = await holder.lock_next_activity(now(), LOCK)
        assert act is not None
        # A slow activity: two leases long. The holder renews, so nobody else gets the work item.
        for _ in range(20):
            assert await other.lock_next_activity(now(), LOCK) is None
            await asyncio.sleep(0.1)
        # The holder "dies" without completing: its lease lapses and the other host gets the item.
        await holder.receiver.stop()  # stop renewing, as a killed process would
        again = None
        for _ in range(50):
            again = await other.lock_next_activity(now(), LOCK)
            if again is not None:
                break
            await asyncio.sleep(0.1)
        assert again is not None and again.message.message_id == act.message.message_id
    finally:
        await holder.close()
        await other.close()


async def test_development_storage_shortcut_points_at_azurite_default_ports() -> None:
    from devhost.store.azure.clients import HubClients

    clients = HubClients.from_connection_string("UseDevelopmentStorage=true")
    try:
        assert clients.tables.url.startswith("http://127.0.0.1:10002/devstoreaccount1")
        assert clients.queues.url.startswith("http://127.0.0.1:10001/devstoreaccount1")
        assert clients.blobs.url.startswith("http://127.0.0.1:10000/devstoreaccount1")
    finally:
        await clients.close()


async def test_bad_connection_string_is_one_clear_line(hub_name: str) -> None:
    store = create_store("this is not a connection string", hub_name=hub_name)
    with pytest.raises(StorageUnavailableError, match="connection string") as info:
        await store.open()
    assert "\n" not in str(info.value)


async def test_clean_close_hands_unstarted_work_back_at_once(azurite: Azurite, hub_name: str) -> None:
    first = create_store(
        azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2, lease_seconds=60
    )
    await first.open()
    assert await first.lock_next_orchestration(now(), LOCK) is None  # now it dispatches: its sends are held
    await start(first, "handed-back")
    assert first.held_message_count() == 1
    await first.close()  # a clean stop, not a crash

    second = create_store(azurite.connection_string, hub_name=hub_name, max_polling_interval=0.2)
    await second.open()
    try:
        item = await lock(second, tries=50)  # well before the 60 s lease would have lapsed
        assert item.instance_id == "handed-back"
    finally:
        await second.close()


async def test_foreign_messages_are_dropped_without_stopping_the_hub(
    azure_store: AzureStorageStore, azurite: Azurite
) -> None:
    name = keys.HubNames.of(azure_store.hub, 4).control_queues[0]
    async with QueueClient.from_connection_string(azurite.connection_string, name) as queue:
        await queue.send_message("not json at all")
        await queue.send_message('{"$type": "DurableTask.AzureStorage.MessageData", "TaskMessage": null}')
    await start(azure_store, "healthy")
    item = await lock(azure_store)
    assert item.instance_id == "healthy"
    async with QueueClient.from_connection_string(azurite.connection_string, name) as queue:
        assert [m async for m in queue.receive_messages()] == []  # the junk is gone for good


def test_history_transactions_stay_under_100_operations_and_3_mb() -> None:
    from devhost.store.azure.journal import batches as _batches

    small = [{"RowKey": f"{i:016X}", "Input": "x"} for i in range(250)]
    assert [len(b) for b in _batches(small)] == [99, 99, 52]
    big = [{"RowKey": f"{i:016X}", "Input": "x" * 25_000, "Result": "y" * 25_000} for i in range(40)]
    sizes = [len(b) for b in _batches(big)]
    assert sum(sizes) == 40 and len(sizes) > 1
    assert all(sum(2 * 50_000 + 1024 for _ in range(n)) <= 3 * 1024 * 1024 for n in sizes)
    assert _batches([]) == [[]]


async def test_an_episode_larger_than_one_transaction_is_read_back_whole(
    azure_store: AzureStorageStore,
) -> None:
    rec, ex = await start(azure_store, "long")
    item = await lock(azure_store)
    ts = h.format_ts(now())
    events = [h.orchestrator_started(ts), item.messages[0].event]
    events += [h.task_scheduled(ts, i, "act", f'"{i}"') for i in range(150)]
    events.append(h.orchestrator_completed(ts))
    running = rec.copy()
    running.runtime_status = RuntimeStatus.Running
    await azure_store.commit_episode(item, EpisodeCommit(instance=running, history=[(ex, events)]))
    assert await azure_store.get_history("long") == events


async def test_a_finished_instance_read_again_for_a_stale_message_leaves_the_cache(
    azure_store: AzureStorageStore,
) -> None:
    # A booking paid before its deadline completes with its timer still pending; when the timer fires, the
    # instance is read back from the table for a message that changes nothing. It must not stay cached: a
    # host that runs for days would hold the histories of every such booking (the soak's RSS creep).
    rec, ex = await start(azure_store, "stale")
    item = await lock(azure_store)
    ts = h.format_ts(now())
    done = rec.copy()
    done.runtime_status = RuntimeStatus.Completed
    done.output = '"ok"'
    events = [
        h.orchestrator_started(ts),
        item.messages[0].event,
        h.execution_completed(ts, 0, RuntimeStatus.Completed, '"ok"'),
        h.orchestrator_completed(ts),
    ]
    await azure_store.commit_episode(item, EpisodeCommit(instance=done, history=[(ex, events)]))
    await azure_store.flush()
    assert "stale" not in azure_store._cache

    await azure_store.send_messages([OrchestrationMessage("stale", h.event_raised(ts, "late", None))])
    late = await lock(azure_store)
    assert "stale" in azure_store._cache  # read back for the episode
    await azure_store.commit_episode(late, EpisodeCommit())  # the engine drops it: nothing to store
    await azure_store.flush()
    assert "stale" not in azure_store._cache
