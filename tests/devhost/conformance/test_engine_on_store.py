"""The engine end to end on the store under test (the harness on the caller's loop, virtual time)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devhost.store.base import TaskHubStore
from devhost.testing import AsyncDurableHarness
from tests.devhost.engine import sample_app
from tests.devhost.engine.vector_support import VEC


@pytest.fixture
async def vec(store: TaskHubStore) -> AsyncIterator[AsyncDurableHarness]:
    h = AsyncDurableHarness(VEC.app, store=store)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
async def app(store: TaskHubStore) -> AsyncIterator[AsyncDurableHarness]:
    h = AsyncDurableHarness(sample_app.app, store=store)
    try:
        yield h
    finally:
        h.close()


async def test_chaining(vec: AsyncDurableHarness) -> None:
    vec.replace_activity("say_hello", lambda c: f"Hello {c}!")
    st = await vec.wait_for_completion(await vec.start_new("chaining"))
    assert (st.runtime_status, st.output) == (
        "Completed",
        ["Hello Tokyo!", "Hello Seattle!", "Hello London!"],
    )
    hist = await vec.history(st.instance_id)
    assert [e["EventType"] for e in hist] == [12, 0, 4, 13, 12, 5, 4, 13, 12, 5, 4, 13, 12, 5, 1, 13]


async def test_retry_timers_and_time_skipping(vec: AsyncDurableHarness) -> None:
    async def flaky(x: str) -> str:
        raise ValueError("transient")

    vec.replace_activity("flaky", flaky)
    st = await vec.wait_for_completion(await vec.start_new("with_retry"))
    assert st.runtime_status == "Failed"
    ids = [
        (e["EventType"], e["EventId"]) for e in await vec.history(st.instance_id) if e["EventType"] in (4, 10)
    ]
    assert ids == [(4, 0), (10, 1), (4, 2), (10, 3), (4, 4), (10, 5)]


async def test_sub_orchestrations_and_parent_notification(vec: AsyncDurableHarness) -> None:
    st = await vec.wait_for_completion(await vec.start_new("parent", instance_id="p1"))
    assert st.runtime_status == "Failed" and "bad n" in st.output
    child = await vec.get_status("my-child-id")
    assert child is not None and child.runtime_status == "Failed"


async def test_continue_as_new_keeps_one_instance(vec: AsyncDurableHarness) -> None:
    st = await vec.wait_for_completion(await vec.start_new("counter", input=0))
    assert (st.runtime_status, st.output) == ("Completed", 3)


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
    assert sa is not None and (sa.runtime_status, sa.output) == ("Completed", {"x": 1})
    assert sb is not None and (sb.runtime_status, sb.output) == ("Terminated", "stop")
    assert sc is not None and sc.runtime_status == "Suspended"
    await app.raise_event(c, "Go", 2, via="http")
    await app.run_until_idle()
    assert (await app.get_status(c)).runtime_status == "Suspended"  # type: ignore[union-attr]
    await app.resume(c, "go on")
    assert (await app.wait_for_completion(c)).output == 2


async def test_fan_out_fan_in(app: AsyncDurableHarness) -> None:
    st = await app.wait_for_completion(await app.start_new("fan_out", input=20))
    assert st.output == sum(i * 2 for i in range(20))
