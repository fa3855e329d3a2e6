"""What sits on a booking's critical path in the Azure store: a message a checkpoint sends is this process's
to run as soon as it is enqueued (not after the sender's row write and deletes), and a sub-orchestration
started by a checkpoint costs one row insert and no reads before its first episode."""

import asyncio
import datetime as dt
import uuid

from devhost import history as h
from devhost.history import RuntimeStatus
from devhost.store.azure import AzureStorageStore
from devhost.store.azure.instances import ChildRow
from devhost.store.base import EpisodeCommit, InstanceRecord, OrchestrationMessage, OrchestrationWorkItem
from tests.devhost.azure.test_store import LOCK, lock, now, start


def starts_child(item: OrchestrationWorkItem, rec: InstanceRecord, ex: str, child_id: str) -> EpisodeCommit:
    """The parent's first episode: it starts sub-orchestration ``child_id``."""
    ts = h.format_ts(now())
    child_ex = uuid.uuid4().hex
    created = h.sub_orchestration_created(ts, 0, "child", child_id, None, None, "")
    events = [h.orchestrator_started(ts), item.messages[0].event, created, h.orchestrator_completed(ts)]
    running = rec.copy()
    running.runtime_status = RuntimeStatus.Running
    parent_id = rec.instance_id
    child = InstanceRecord.pending(child_id, "child", child_ex, now(), None, parent_instance_id=parent_id)
    parent = {"Name": "orch", "TaskScheduleId": 0, "OrchestrationInstance": {"InstanceId": rec.instance_id}}
    begin = h.execution_started(
        ts, instance_id=child_id, execution_id=child_ex, name="child", input_json=None, parent=parent
    )
    return EpisodeCommit(
        instance=running,
        history=[(ex, events)],
        new_instances=[child],
        messages=[OrchestrationMessage(child_id, begin, execution_id=child_ex)],
    )


async def test_a_started_child_runs_before_its_parents_row_write_lands_and_reads_nothing(
    azure_store: AzureStorageStore,
) -> None:
    rec, ex = await start(azure_store, "parent-1")
    item = await lock(azure_store)
    # The parent's row write (the checkpoint's last effect before its deletes) does not land until released.
    release = asyncio.Event()
    update = azure_store.rows.update

    async def held_row_write(record: InstanceRecord) -> None:
        await release.wait()
        await update(record)

    azure_store.rows.update = held_row_write  # type: ignore[method-assign]
    tables = azure_store.counter.by_service["table"]
    try:
        await azure_store.commit_episode(item, starts_child(item, rec, ex, "child-1"))
        # Without waiting for the parent's tail: its row write is still held here (the timeout only keeps
        # a regression from hanging the suite).
        child = await asyncio.wait_for(azure_store.lock_next_orchestration(now(), LOCK), 30)
        assert child is not None and child.instance_id == "child-1"
        assert child.history == () and child.instance is not None and child.instance.name == "child"
        assert not release.is_set()
        # The parent's history batch and the child's row insert: no read of the row before it, and none of
        # the child's (brand-new) row or history before its first episode.
        assert azure_store.counter.by_service["table"] - tables == 2
    finally:
        release.set()
    await azure_store.flush()
    parent = await azure_store.get_instance("parent-1")
    assert parent is not None and parent.runtime_status is RuntimeStatus.Running


async def test_a_childs_row_is_created_once_kept_while_live_and_replaced_when_finished(
    azure_store: AzureStorageStore,
) -> None:
    t = dt.datetime.now(dt.UTC)
    first = InstanceRecord.pending("child-2", "child", "x1", t, None, parent_instance_id="p")
    assert await azure_store.rows.create_child(first) is ChildRow.CREATED
    assert await azure_store.rows.create_child(first) is ChildRow.KEPT  # a journal applied again
    second = InstanceRecord.pending("child-2", "child", "x2", t, None, parent_instance_id="p")
    assert await azure_store.rows.create_child(second) is ChildRow.KEPT  # the first is still live
    done = first.copy()
    done.runtime_status = RuntimeStatus.Completed
    await azure_store.rows.update(done)
    assert await azure_store.rows.create_child(second) is ChildRow.REPLACED
    row = await azure_store.get_instance("child-2")
    assert row is not None and row.execution_id == "x2"


async def test_an_instance_whose_commit_is_in_flight_is_not_handed_out_again(
    azure_store: AzureStorageStore,
) -> None:
    """The engine overlaps checkpoints of different instances, so the dispatcher locks while a commit is in
    flight: a lock that has lapsed by the engine's clock meanwhile must not start a second episode of that
    instance (its history would be extended twice)."""
    rec, ex = await start(azure_store, "slow-1")
    item = await lock(azure_store, dt.timedelta(milliseconds=1))
    release = asyncio.Event()
    write = azure_store.journal.write

    async def held_write(*args: object) -> None:
        await release.wait()
        await write(*args)  # type: ignore[arg-type]

    azure_store.journal.write = held_write  # type: ignore[method-assign,assignment]
    commit = asyncio.create_task(azure_store.commit_episode(item, starts_child(item, rec, ex, "child-3")))
    try:
        await asyncio.sleep(0)
        later = now() + dt.timedelta(seconds=5)  # the 1 ms lock has long lapsed
        again = await azure_store.lock_next_orchestration(later, LOCK)
        assert again is None or again.instance_id != "slow-1"
    finally:
        release.set()
    await commit
    await azure_store.flush()
