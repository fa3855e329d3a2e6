"""The harness API CORE writes orchestrator tests with: fakes, time skipping, stuck detection, async."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator

import pytest

from devhost.history import RuntimeStatus
from devhost.testing import AsyncDurableHarness, DurableHarness, HarnessStuck
from tests.devhost.engine import sample_app


@pytest.fixture
def h() -> Iterator[DurableHarness]:
    with DurableHarness(sample_app.app) as harness:
        yield harness


def test_accepts_a_module_and_indexes_each_app_once() -> None:
    with DurableHarness(sample_app) as a, DurableHarness(sample_app.app) as b:
        assert a.wait_for_completion(a.start_new("echo_input", input=1)).output == 1
        assert b.wait_for_completion(b.start_new("echo_input", input=2)).output == 2


def test_sync_and_async_fakes_replace_activities_by_durable_name(h: DurableHarness) -> None:
    seen: list[int] = []

    async def fake_double(v: int) -> int:
        seen.append(v)
        return v * 10

    h.replace_activity("ASYNC_DOUBLE", fake_double)
    st = h.wait_for_completion(h.start_new("fan_out", input=3))
    assert st.output == 30 and sorted(seen) == [0, 1, 2]
    h.replace_activity("echo", lambda v: {"faked": v})
    assert h.wait_for_completion(h.start_new("echo_input", input=5)).output == {"faked": 5}


def test_replace_unknown_activity_is_refused(h: DurableHarness) -> None:
    with pytest.raises(KeyError, match="no activity named 'nope'"):
        h.replace_activity("nope", lambda v: v)


def test_fake_exception_becomes_task_failed_with_extension_format(h: DurableHarness) -> None:
    def boom(v: object) -> object:
        raise ValueError("kaboom")

    h.replace_activity("echo", boom)
    st = h.wait_for_completion(h.start_new("echo_input", input=1))
    assert st.runtime_status is RuntimeStatus.Failed
    assert st.output.startswith(
        "Orchestrator function 'echo_input' failed: Activity function 'echo' failed:  ValueError: kaboom \n {"
    )
    failed = [e for e in h.history(st.instance_id) if e["EventType"] == 6][0]
    assert failed["Reason"] == "Activity function 'echo' failed:  ValueError: kaboom"


def test_real_activities_renamed_and_with_context(h: DurableHarness) -> None:
    st = h.wait_for_completion(h.start_new("call_renamed"))
    assert st.output == [{"got": "x"}, ["y", "with_context"]]


def test_async_real_activity_fan_out(h: DurableHarness) -> None:
    assert h.wait_for_completion(h.start_new("fan_out", input=50)).output == sum(i * 2 for i in range(50))


def test_time_skips_to_the_next_timer_only_when_idle(h: DurableHarness) -> None:
    t0 = h.now
    iid = h.start_new("forgotten_timer")
    h.run_until_idle()
    assert h.now - t0 < dt.timedelta(seconds=1)
    h.advance(dt.timedelta(minutes=30))
    st = h.get_status(iid)
    assert st is not None and st.runtime_status is RuntimeStatus.Running
    assert dt.timedelta(minutes=30) <= h.now - t0 < dt.timedelta(minutes=31)
    h.advance(dt.timedelta(hours=2))
    st = h.get_status(iid)
    assert st is not None and st.runtime_status is RuntimeStatus.Completed


def test_wait_for_an_event_that_never_comes_is_reported_stuck(h: DurableHarness) -> None:
    iid = h.start_new("wait_event")
    with pytest.raises(HarnessStuck, match="raise_event"):
        h.wait_for_completion(iid)
    h.raise_event(iid, "Go", 1)
    assert h.wait_for_completion(iid).runtime_status is RuntimeStatus.Completed


def test_run_until_predicate_may_read_status(h: DurableHarness) -> None:
    iid = h.start_new("wait_event")

    def running() -> bool:
        st = h.get_status(iid)
        return st is not None and st.runtime_status is RuntimeStatus.Running

    h.run_until(running)
    with pytest.raises(HarnessStuck):
        h.run_until(lambda: False)


def test_closed_harness_refuses_calls() -> None:
    h = DurableHarness(sample_app.app)
    h.close()
    with pytest.raises(RuntimeError, match="closed"):
        h.start_new("echo_input")


def test_not_an_app_is_refused() -> None:
    with pytest.raises(ValueError, match="Could not find top level function app"):
        DurableHarness(types.ModuleType("empty"))


async def test_async_harness_on_the_test_loop() -> None:
    h = AsyncDurableHarness(sample_app.app)
    try:
        iid = await h.start_new("wait_event")
        await h.run_until_idle()
        await h.raise_event(iid, "Go", [1, 2], via="http")
        st = await h.wait_for_completion(iid)
        assert st.output == [1, 2]
        assert (await h.history(iid))[-1]["EventType"] == 13
    finally:
        h.close()


async def test_sync_harness_works_inside_a_running_loop() -> None:
    with DurableHarness(sample_app.app) as h:
        assert h.wait_for_completion(h.start_new("echo_input", input="x")).output == "x"
