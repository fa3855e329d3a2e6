"""The engine end to end on the store under test (the harness on the caller's loop, virtual time)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from devhost.history import EventType as E
from devhost.history import RuntimeStatus
from devhost.store.base import TaskHubStore
from devhost.testing import AsyncDurableHarness
from tests.devhost.engine import sample_app
from tests.devhost.engine.vector_support import VEC


@contextmanager
def harness(app: Any, store: TaskHubStore) -> Iterator[AsyncDurableHarness]:
    h = AsyncDurableHarness(app, store=store)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
async def vec(store: TaskHubStore) -> AsyncIterator[AsyncDurableHarness]:
    """The recorded-vector app on the store under test."""
    with harness(VEC.app, store) as h:
        yield h


@pytest.fixture
async def app(store: TaskHubStore) -> AsyncIterator[AsyncDurableHarness]:
    """The sample app on the store under test."""
    with harness(sample_app.app, store) as h:
        yield h


async def test_chaining(vec: AsyncDurableHarness) -> None:
    vec.replace_activity("say_hello", lambda c: f"Hello {c}!")
    st = await vec.wait_for_completion(await vec.start_new("chaining"))
    assert (st.runtime_status, st.output) == (
        RuntimeStatus.Completed,
        ["Hello Tokyo!", "Hello Seattle!", "Hello London!"],
    )
    hist = await vec.history(st.instance_id)
    first = [E.OrchestratorStarted, E.ExecutionStarted, E.TaskScheduled, E.OrchestratorCompleted]
    then = [E.OrchestratorStarted, E.TaskCompleted, E.TaskScheduled, E.OrchestratorCompleted]
    last = [E.OrchestratorStarted, E.TaskCompleted, E.ExecutionCompleted, E.OrchestratorCompleted]
    assert [e["EventType"] for e in hist] == first + then + then + last


async def test_retry_timers_and_time_skipping(vec: AsyncDurableHarness) -> None:
    async def flaky(x: str) -> str:
        raise ValueError("transient")

    vec.replace_activity("flaky", flaky)
    st = await vec.wait_for_completion(await vec.start_new("with_retry"))
    assert st.runtime_status is RuntimeStatus.Failed
    task, timer = E.TaskScheduled, E.TimerCreated  # each failed attempt is followed by its retry timer
    history = await vec.history(st.instance_id)
    ids = [(e["EventType"], e["EventId"]) for e in history if e["EventType"] in (task, timer)]
    assert ids == [(task, 0), (timer, 1), (task, 2), (timer, 3), (task, 4), (timer, 5)]


async def test_sub_orchestrations_and_parent_notification(vec: AsyncDurableHarness) -> None:
    st = await vec.wait_for_completion(await vec.start_new("parent", instance_id="p1"))
    assert st.runtime_status is RuntimeStatus.Failed and "bad n" in st.output
    child = await vec.get_status("my-child-id")
    assert child is not None and child.runtime_status is RuntimeStatus.Failed


async def test_continue_as_new_keeps_one_instance(vec: AsyncDurableHarness) -> None:
    st = await vec.wait_for_completion(await vec.start_new("counter", input=0))
    assert (st.runtime_status, st.output) == (RuntimeStatus.Completed, 3)


async def test_events_terminate_suspend(app: AsyncDurableHarness) -> None:
    a = await app.start_new("wait_event")
    b = await app.start_new("wait_event")
    c = await app.start_new("wait_event")
    await app.run_until_idle()
    await app.raise_event(a, "Go", {"x": 1}, via="http")
    await app.terminate(b, "stop")
    await app.suspend(c, "pause")
    await app.run_until_idle()
    sa, sb, sc = [await app.get_status(i) for i in (a, b, c)]
    assert sa is not None and (sa.runtime_status, sa.output) == (RuntimeStatus.Completed, {"x": 1})
    assert sb is not None and (sb.runtime_status, sb.output) == (RuntimeStatus.Terminated, "stop")
    assert sc is not None and sc.runtime_status is RuntimeStatus.Suspended
    await app.raise_event(c, "Go", 2, via="http")
    await app.run_until_idle()
    held = await app.get_status(c)
    assert held is not None and held.runtime_status is RuntimeStatus.Suspended
    await app.resume(c, "go on")
    assert (await app.wait_for_completion(c)).output == 2


async def test_fan_out_fan_in(app: AsyncDurableHarness) -> None:
    st = await app.wait_for_completion(await app.start_new("fan_out", input=20))
    assert st.output == sum(i * 2 for i in range(20))
