"""Bad orchestrators fail only their own instance, with the runtime's error text; the others run on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.history import RuntimeStatus
from devhost.testing import DurableHarness
from tests.devhost.engine import sample_app


@pytest.fixture
def h() -> Iterator[DurableHarness]:
    with DurableHarness(sample_app.app) as harness:
        yield harness


def test_orchestrator_that_raises_fails_with_its_message_and_others_run_on(h: DurableHarness) -> None:
    bad = h.start_new("raises")
    good = h.start_new("echo_input", input={"a": 1})
    assert h.wait_for_completion(bad).output == "Orchestrator function 'raises' failed: orchestrator blew up"
    assert h.wait_for_completion(bad).runtime_status is RuntimeStatus.Failed
    st = h.wait_for_completion(good)
    assert (st.runtime_status, st.output) == (RuntimeStatus.Completed, {"a": 1})
    completed = [e for e in h.history(bad) if e["EventType"] == 1][0]
    assert completed["OrchestrationStatus"] == 3


def test_yielding_a_non_task_fails_the_instance(h: DurableHarness) -> None:
    st = h.wait_for_completion(h.start_new("yields_non_task"))
    assert st.runtime_status is RuntimeStatus.Failed
    assert st.output.startswith("Orchestrator function 'yields_non_task' failed: ")
    assert len(st.output) > len("Orchestrator function 'yields_non_task' failed: ")


def test_unserializable_output_fails_the_instance(h: DurableHarness) -> None:
    st = h.wait_for_completion(h.start_new("unserializable"))
    assert st.runtime_status is RuntimeStatus.Failed
    assert "Orchestrator function 'unserializable' failed:" in st.output
    assert "serializ" in st.output.lower()


def test_divergence_from_history_is_non_determinism(h: DurableHarness) -> None:
    h.replace_activity("fail", lambda v: v)
    sample_app.DIVERGE["name"] = "fail"
    try:
        iid = h.start_new("diverges")
        h.run_until_idle()  # scheduled and ran 'fail' at position 0; now waits for "Go"
        running = h.get_status(iid)
        assert running is not None and running.runtime_status is RuntimeStatus.Running
        sample_app.DIVERGE["name"] = "echo"  # "deploy" code that calls another activity at position 0
        h.raise_event(iid, "Go")
        st = h.wait_for_completion(iid)
    finally:
        sample_app.DIVERGE["name"] = "echo"
    assert st.runtime_status is RuntimeStatus.Failed
    assert st.output.startswith("Non-Deterministic workflow detected: ")
    assert "sequence ID 0 and name 'fail'" in st.output


def test_unknown_activity_fails_with_the_extension_message(h: DurableHarness) -> None:
    st = h.wait_for_completion(h.start_new("calls_unknown"))
    assert st.runtime_status is RuntimeStatus.Failed
    assert st.output.startswith(
        "Orchestrator function 'calls_unknown' failed: The function 'no_such_activity' doesn't exist, is "
        "disabled, or is not an activity function. Additional info: The following are the known activity "
        "functions: 'echo', "
    )


def test_unknown_sub_orchestrator_fails_with_the_extension_message(h: DurableHarness) -> None:
    st = h.wait_for_completion(h.start_new("calls_unknown_sub"))
    assert st.runtime_status is RuntimeStatus.Failed
    assert (
        "The function 'no_such_orchestrator' doesn't exist, is disabled, or is not an orchestrator function"
        in st.output
    )


def test_unknown_orchestrator_cannot_be_started(h: DurableHarness) -> None:
    from devhost.engine.client import UnknownOrchestratorError

    with pytest.raises(
        UnknownOrchestratorError, match="doesn't exist, is disabled, or is not an orchestrator"
    ):
        h.start_new("nope")


def test_engine_bug_fails_one_instance_not_the_worker(
    h: DurableHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = h._inner.engine.runner  # noqa: SLF001 - inject a fault into one episode
    real = runner.run
    victim = h.start_new("echo_input", input=1, instance_id="victim")

    def broken(item):
        if item.instance_id == "victim":
            raise RuntimeError("simulated engine fault")
        return real(item)

    monkeypatch.setattr(runner, "run", broken)
    other = h.start_new("echo_input", input=2)
    st = h.wait_for_completion(victim)
    assert st.runtime_status is RuntimeStatus.Failed and "devhost internal error: RuntimeError" in st.output
    assert h.wait_for_completion(other).output == 2
