"""The ``TaskHubStore`` contract (devhost/store/base.py), store-agnostic: every store must pass this."""

from __future__ import annotations

import datetime as dt

import pytest

from devhost import history as h
from devhost.history import EventType, RuntimeStatus
from devhost.store.base import (
    ActivityMessage,
    EpisodeCommit,
    InstanceExistsError,
    InstanceQuery,
    InstanceRecord,
    LockLostError,
    OrchestrationMessage,
    TaskHubStore,
)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
LOCK = dt.timedelta(minutes=5)
STARTED, RAISED = EventType.ExecutionStarted, EventType.EventRaised
NON_RUNNING = frozenset({RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated})


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def record(
    iid: str, xid: str = "x1", status: RuntimeStatus = RuntimeStatus.Pending, created: dt.datetime = T0
) -> InstanceRecord:
    return InstanceRecord(
        instance_id=iid,
        name="orch",
        execution_id=xid,
        runtime_status=status,
        created_time=created,
        last_updated_time=created,
        input='"in"',
    )


def start_msg(iid: str, xid: str = "x1") -> OrchestrationMessage:
    ev = h.execution_started(
        h.format_ts(T0), instance_id=iid, execution_id=xid, name="orch", input_json='"in"'
    )
    return OrchestrationMessage(iid, ev, execution_id=xid)


def raised(iid: str, name: str, visible_at: dt.datetime | None = None) -> OrchestrationMessage:
    return OrchestrationMessage(iid, h.event_raised(h.format_ts(T0), name, "1"), visible_at=visible_at)


async def create(store: TaskHubStore, iid: str, **kw: object) -> None:
    await store.create_instance(record(iid, **kw), start_msg(iid), replaceable=NON_RUNNING)  # type: ignore[arg-type]


async def test_create_get_and_replace_rules(store: TaskHubStore) -> None:
    await create(store, "a")
    got = await store.get_instance("a")
    assert got is not None and (got.name, got.runtime_status, got.input) == (
        "orch",
        RuntimeStatus.Pending,
        '"in"',
    )
    assert got.created_time == T0
    with pytest.raises(InstanceExistsError):
        await create(store, "a")
    await store.create_instance(record("a", "x2"), start_msg("a", "x2"), replaceable=None)
    got = await store.get_instance("a")
    assert got is not None and got.execution_id == "x2"
    assert await store.get_instance("missing") is None
    assert await store.get_history("missing") == []


async def test_lock_returns_all_visible_messages_in_order_and_commit_applies(store: TaskHubStore) -> None:
    await create(store, "a")
    await store.send_messages([raised("a", "E1"), raised("a", "E2"), raised("a", "Later", at(60))])
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None and item.instance_id == "a"
    assert [m.event["EventType"] for m in item.messages] == [STARTED, RAISED, RAISED]
    assert [m.event.get("Name") for m in item.messages[1:]] == ["E1", "E2"]
    assert list(item.history) == []
    assert await store.lock_next_orchestration(at(1), LOCK) is None  # locked
    assert item.instance is not None
    inst = item.instance.copy()
    inst.runtime_status = RuntimeStatus.Running
    events = [h.orchestrator_started(h.format_ts(at(1)))] + [m.event for m in item.messages]
    events.append(h.orchestrator_completed(h.format_ts(at(1))))
    await store.commit_episode(item, EpisodeCommit(instance=inst, history=[("x1", events)]))
    got = await store.get_instance("a")
    assert got is not None and got.runtime_status is RuntimeStatus.Running
    assert await store.get_history("a") == events
    assert await store.get_history("a", "x1") == events
    assert await store.lock_next_orchestration(at(2), LOCK) is None  # consumed; 'Later' not visible
    assert await store.next_visible_time() == at(60)
    item = await store.lock_next_orchestration(at(60), LOCK)
    assert item is not None and [m.event.get("Name") for m in item.messages] == ["Later"]
    assert list(item.history) == events


async def test_abandon_keeps_messages(store: TaskHubStore) -> None:
    await create(store, "a")
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None
    await store.abandon_orchestration(item)
    again = await store.lock_next_orchestration(at(2), LOCK)
    assert again is not None and [m.message_id for m in again.messages] == [
        m.message_id for m in item.messages
    ]


async def test_expired_lease_is_taken_over_and_the_old_commit_refused(store: TaskHubStore) -> None:
    await create(store, "a")
    first = await store.lock_next_orchestration(at(1), LOCK)
    assert first is not None
    second = await store.lock_next_orchestration(at(1) + LOCK + dt.timedelta(seconds=1), LOCK)
    assert second is not None and second.instance_id == "a"
    with pytest.raises(LockLostError):
        await store.commit_episode(first, EpisodeCommit())
    await store.commit_episode(second, EpisodeCommit())
    assert await store.lock_next_orchestration(at(1000), LOCK) is None


async def test_messages_arriving_while_locked_are_kept_for_the_next_episode(store: TaskHubStore) -> None:
    await create(store, "a")
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None
    await store.send_messages([raised("a", "During")])
    await store.commit_episode(item, EpisodeCommit())
    nxt = await store.lock_next_orchestration(at(2), LOCK)
    assert nxt is not None and [m.event.get("Name") for m in nxt.messages] == ["During"]


async def test_suspended_instance_only_wakes_for_resume_or_terminate(store: TaskHubStore) -> None:
    await create(store, "a")
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None and item.instance is not None
    inst = item.instance.copy()
    inst.runtime_status = RuntimeStatus.Suspended
    await store.commit_episode(item, EpisodeCommit(instance=inst, history=[("x1", [])]))
    await store.send_messages([raised("a", "Held")])
    assert await store.lock_next_orchestration(at(2), LOCK) is None
    assert await store.next_visible_time() is None
    resume = OrchestrationMessage("a", h.execution_resumed(h.format_ts(at(3)), "go"))
    await store.send_messages([resume])
    item = await store.lock_next_orchestration(at(3), LOCK)
    assert item is not None
    assert [m.event["EventType"] for m in item.messages] == [RAISED, EventType.ExecutionResumed]


async def test_activity_queue(store: TaskHubStore) -> None:
    await create(store, "a")
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None
    ts = h.format_ts(at(1))
    act = ActivityMessage("a", "x1", h.task_scheduled(ts, 0, "work", '"v"'))
    await store.commit_episode(item, EpisodeCommit(activities=[act]))
    assert await store.next_visible_time() is not None
    w = await store.lock_next_activity(at(2), LOCK)
    assert w is not None and w.message.event["Name"] == "work" and w.message.execution_id == "x1"
    assert await store.lock_next_activity(at(2), LOCK) is None
    await store.abandon_activity(w)
    w = await store.lock_next_activity(at(3), LOCK)
    assert w is not None
    # lease expiry redelivers; the first holder's completion is then refused
    w2 = await store.lock_next_activity(at(3) + LOCK + dt.timedelta(seconds=1), LOCK)
    assert w2 is not None
    with pytest.raises(LockLostError):
        await store.complete_activity(w, None)
    resp = OrchestrationMessage("a", h.task_completed(ts, 0, '"r"'), execution_id="x1")
    await store.complete_activity(w2, resp)
    assert await store.lock_next_activity(at(10), LOCK) is None
    nxt = await store.lock_next_orchestration(at(10), LOCK)
    assert nxt is not None and nxt.messages[0].event["Result"] == '"r"'


async def test_commit_creates_sub_orchestration_rows_without_clobbering_running_ones(
    store: TaskHubStore,
) -> None:
    await create(store, "parent")
    await create(store, "busy")
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None
    other = "busy" if item.instance_id == "parent" else "parent"
    child = record("child", "cx")
    await store.commit_episode(
        item,
        EpisodeCommit(new_instances=[child, record(other, "stolen")], messages=[start_msg("child", "cx")]),
    )
    got = await store.get_instance("child")
    assert got is not None and got.execution_id == "cx" and got.runtime_status is RuntimeStatus.Pending
    kept = await store.get_instance(other)
    assert kept is not None and kept.execution_id == "x1"


async def test_messages_for_unknown_instances_are_delivered_without_a_row(store: TaskHubStore) -> None:
    await store.send_messages([raised("ghost", "E")])
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None and item.instance is None and item.instance_id == "ghost"
    await store.commit_episode(item, EpisodeCommit())
    assert await store.lock_next_orchestration(at(2), LOCK) is None
    assert await store.get_instance("ghost") is None


async def test_query_filters_and_continuation(store: TaskHubStore) -> None:
    for i in range(7):
        await create(store, f"q{i}", created=at(i))
    await create(store, "zz", created=at(100))
    query = InstanceQuery(
        created_from=at(1),
        created_to=at(5),
        instance_id_prefix="q",
        runtime_status=frozenset({RuntimeStatus.Pending}),
    )
    seen: list[str] = []
    token: str | None = None
    while True:
        page, token = await store.query_instances(query, 2, token)
        assert len(page) <= 2
        seen += [r.instance_id for r in page]
        if token is None:
            break
    assert sorted(seen) == ["q1", "q2", "q3", "q4", "q5"]
    none, tok = await store.query_instances(
        InstanceQuery(runtime_status=frozenset({RuntimeStatus.Failed})), 10, None
    )
    assert none == [] and tok is None
    with pytest.raises(ValueError):
        await store.query_instances(InstanceQuery(), 10, "not-a-token")


async def test_query_without_payloads_reads_the_same_rows_minus_input_output_custom_status(
    store: TaskHubStore,
) -> None:
    for i in range(5):
        await create(store, f"p{i}", created=at(i))
    item = await store.lock_next_orchestration(at(10), LOCK)
    assert item is not None and item.instance is not None
    done = item.instance.copy()
    done.runtime_status, done.output, done.custom_status = RuntimeStatus.Completed, '"out"', '"cs"'
    done.completed_time = at(11)
    await store.commit_episode(item, EpisodeCommit(instance=done))

    async def every(query: InstanceQuery) -> dict[str, InstanceRecord]:
        found: dict[str, InstanceRecord] = {}
        token: str | None = None
        while True:
            page, token = await store.query_instances(query, 2, token)
            found.update((r.instance_id, r) for r in page)
            if token is None:
                return found

    full = await every(InstanceQuery(instance_id_prefix="p"))
    light = await every(InstanceQuery(instance_id_prefix="p", payloads=False))
    assert sorted(light) == sorted(full) == [f"p{i}" for i in range(5)]
    for iid, record in full.items():
        assert light[iid] == record.without_payloads()
        assert light[iid].input is None and light[iid].output is None and light[iid].custom_status is None
    assert full[done.instance_id].output == '"out"'
    assert light[done.instance_id].runtime_status is RuntimeStatus.Completed
    assert light[done.instance_id].completed_time == at(11)
    ranged = await every(InstanceQuery(created_from=at(1), created_to=at(3), payloads=False))
    assert sorted(ranged) == ["p1", "p2", "p3"]


async def test_purge(store: TaskHubStore) -> None:
    await create(store, "a")
    await create(store, "b", created=at(50))
    item = await store.lock_next_orchestration(at(1), LOCK)
    assert item is not None
    await store.commit_episode(
        item, EpisodeCommit(history=[("x1", [h.orchestrator_started(h.format_ts(at(1)))])])
    )
    assert await store.purge_instance("a") == 1
    assert await store.get_instance("a") is None and await store.get_history("a") == []
    assert await store.purge_instance("a") == 0
    assert await store.purge_instances(InstanceQuery(created_to=at(10))) == 0
    assert await store.purge_instances(InstanceQuery(created_from=at(40))) == 1
    assert await store.get_instance("b") is None
