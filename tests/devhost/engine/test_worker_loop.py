"""The host's worker loop (``Engine.run``) on the system clock: real timers, concurrent activities, stop."""

from __future__ import annotations

import asyncio
import datetime as dt

import azure.durable_functions as df

from devhost.app_index import index_app
from devhost.clock import SystemClock
from devhost.engine.client import DurableClient
from devhost.engine.worker import Engine
from devhost.store.memory import MemoryStore
from tests.devhost.engine import sample_app

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def short_timer(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + dt.timedelta(milliseconds=200))
    v = yield context.call_activity("inc", 1)
    return v


@app.activity_trigger(input_name="n")
async def inc(n: int) -> int:
    return n + 1


async def _wait_terminal(client: DurableClient, iid: str, limit: float = 20.0) -> str:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        rec = await client.get_instance(iid)
        if rec is not None and rec.runtime_status.name in ("Completed", "Failed", "Terminated"):
            return rec.runtime_status.name
        await asyncio.sleep(0.02)
    raise AssertionError(f"{iid} did not finish within {limit}s")


async def test_run_loop_processes_real_timers_and_stops() -> None:
    store, clock = MemoryStore(), SystemClock()
    engine = Engine(index_app(app), store, clock)
    client = DurableClient(store, engine.index, clock)
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop, poll_interval=0.05))
    try:
        ids = [await client.start("short_timer", None, None) for _ in range(5)]
        for iid in ids:
            assert await _wait_terminal(client, iid) == "Completed"
            rec = await client.get_instance(iid)
            assert rec is not None and rec.output == "2"
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)
        engine.close()


async def test_run_loop_with_sync_and_async_activities() -> None:
    store, clock = MemoryStore(), SystemClock()
    engine = Engine(index_app(sample_app.app), store, clock)
    client = DurableClient(store, engine.index, clock)
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop, poll_interval=0.05, max_concurrent_activities=4))
    try:
        # body as the Python SDK client sends it: a JSON string holding df_dumps(30) (PROTOCOL.md §1.5)
        a = await client.start("fan_out", None, '"30"')
        bare = await client.start(
            "fan_out", None, "30"
        )  # a bare JSON number: get_input() raises, as in Azure
        b = await client.start("call_renamed", None, None)
        assert await _wait_terminal(client, a) == "Completed"
        assert await _wait_terminal(client, b) == "Completed"
        assert await _wait_terminal(client, bare) == "Failed"
        rec = await client.get_instance(a)
        assert rec is not None and rec.output == str(sum(i * 2 for i in range(30)))
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)
        engine.close()


class FlakyCommitStore(MemoryStore):
    """Fails the first commit of every instance, like a storage hiccup."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: set[str] = set()

    async def commit_episode(self, item, commit):
        if item.instance_id not in self.failed:
            self.failed.add(item.instance_id)
            raise OSError("storage hiccup")
        await super().commit_episode(item, commit)


async def test_failed_commit_is_redone_not_lost(caplog) -> None:
    store, clock = FlakyCommitStore(), SystemClock()
    engine = Engine(index_app(sample_app.app), store, clock)
    client = DurableClient(store, engine.index, clock)
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop, poll_interval=0.05))
    try:
        iid = await client.start("echo_input", None, '"7"')
        assert await _wait_terminal(client, iid) == "Completed"
        rec = await client.get_instance(iid)
        assert rec is not None and rec.output == "7"
        assert iid in store.failed
        types = [e["EventType"] for e in await client.get_history(iid)]
        assert types.count(0) == 1  # the failed episode left nothing behind
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)
        engine.close()


release_gate: asyncio.Event | None = None


@app.orchestration_trigger(context_name="context")
def fan_out_to_gated(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("gated", i) for i in range(6)])
    return sum(results)


@app.activity_trigger(input_name="n")
async def gated(n: int) -> int:
    assert release_gate is not None
    await release_gate.wait()
    return n


class WakeCountingStore(MemoryStore):
    """Records how often the worker asks when work is next due, and whether it wanted activity work."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[bool] = []

    async def next_visible_time(self, *, activities: bool = True):
        self.asked.append(activities)
        return await super().next_visible_time(activities=activities)


async def test_full_activity_slots_sleep_instead_of_spinning() -> None:
    # Six activities wait for two slots. Waiting activity work must not count as "due now" for a worker
    # that cannot take it, or the loop turns without pause and burns a core until a slot frees up.
    global release_gate
    release_gate = asyncio.Event()
    store, clock = WakeCountingStore(), SystemClock()
    engine = Engine(index_app(app), store, clock)
    client = DurableClient(store, engine.index, clock)
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop, poll_interval=0.05, max_concurrent_activities=2))
    try:
        iid = await client.start("fan_out_to_gated", None, None)
        while store.pending_message_count() < 4:  # two activities taken, four waiting
            await asyncio.sleep(0.01)
        store.asked.clear()
        await asyncio.sleep(0.3)
        assert store.asked and not any(store.asked), "a full worker asked for activity work"
        assert len(store.asked) <= 12, f"{len(store.asked)} wake-ups in 0.3 s at a 0.05 s poll: spinning"
        release_gate.set()
        assert await _wait_terminal(client, iid) == "Completed"
        rec = await client.get_instance(iid)
        assert rec is not None and rec.output == "15"
    finally:
        release_gate.set()
        stop.set()
        await asyncio.wait_for(worker, 10)
        engine.close()


@app.orchestration_trigger(context_name="context")
def at_once(context: df.DurableOrchestrationContext):
    return "done"


async def test_an_instance_runs_while_another_ones_checkpoint_is_in_flight() -> None:
    """Checkpoints of different instances overlap: one whose commit has not returned (its history batch
    still in flight) does not keep the dispatcher from running and committing another instance."""
    store, clock = MemoryStore(), SystemClock()
    engine = Engine(index_app(app), store, clock)
    client = DurableClient(store, engine.index, clock)
    release = asyncio.Event()
    commit = store.commit_episode

    async def slow_for_first(item, episode):
        if item.instance_id == "first":
            await release.wait()
        await commit(item, episode)

    store.commit_episode = slow_for_first  # type: ignore[method-assign]
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop, poll_interval=0.05))
    try:
        await client.start("at_once", "first", None)
        await client.start("at_once", "second", None)
        assert await _wait_terminal(client, "second") == "Completed"
        first = await client.get_instance("first")
        assert first is not None and first.runtime_status.name == "Pending"
        release.set()
        assert await _wait_terminal(client, "first") == "Completed"
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(worker, 10)
        engine.close()


def test_the_disabled_function_warnings_remembered_stay_bounded(caplog) -> None:
    """One warning per instance and disabled function, from a memory that cannot grow without bound."""
    from devhost.engine import worker as worker_module

    engine = Engine(index_app(app), MemoryStore(), SystemClock())
    try:
        with caplog.at_level("WARNING", logger="devhost.engine"):
            for i in range(worker_module._WARNED_DISABLED_MAX + 10):
                engine._warn_disabled(f"i{i}", "activity", "shout")
                engine._warn_disabled(f"i{i}", "activity", "shout")  # the same pair: not warned twice
        assert len(engine._warned_disabled) <= worker_module._WARNED_DISABLED_MAX
        assert len([r for r in caplog.records if "is disabled" in r.getMessage()]) == (
            worker_module._WARNED_DISABLED_MAX + 10
        )
    finally:
        engine.close()
