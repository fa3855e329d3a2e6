"""Entities through the engine (PROTOCOL.md §37): the scheduler instance, call/signal from orchestrators,
errors delivered to the caller, the client's signal and read, one operation at a time in order."""

from __future__ import annotations

import json

from devhost.engine.entities import SchedulerState
from devhost.history import EventType as E
from devhost.history import RuntimeStatus
from devhost.testing import AsyncDurableHarness


async def test_call_and_signal_from_an_orchestrator(harness: AsyncDurableHarness) -> None:
    iid = await harness.start_new("add_and_get", "c1")
    st = await harness.wait_for_completion(iid)
    # The signal is queued before the first call, so the call sees it (one entity, one queue, in order).
    assert (st.runtime_status, st.output) == (RuntimeStatus.Completed, [3, 7])
    hist = await harness.history(iid)
    sent = [e for e in hist if e["EventType"] == E.EventSent]
    # Signal and calls each take a sequence id and are recorded as EventSent "op" to the scheduler id.
    assert [(e["EventId"], e["InstanceId"], e["Name"]) for e in sent] == [
        (0, "@counter@c1", "op"),
        (1, "@counter@c1", "op"),
        (2, "@counter@c1", "op"),
        (3, "@counter@c1", "op"),
    ]
    requests = [json.loads(e["Input"]) for e in sent]
    assert [r["op"] for r in requests] == ["add", "get", "add", "get"]
    assert requests[0]["signal"] is True and "signal" not in requests[1]
    # The SDK's input text is serialized once more by the shim: a JSON string holding JSON.
    assert requests[0]["input"] == '"3"' and requests[1]["input"] == '"null"'
    assert {r["parent"] for r in requests} == {iid}
    # Responses are EventRaised named by the request id, holding a ResponseMessage.
    raised = [e for e in hist if e["EventType"] == E.EventRaised]
    assert [e["Name"] for e in raised] == [requests[1]["id"], requests[2]["id"], requests[3]["id"]]
    assert [json.loads(e["Input"]) for e in raised] == [{"result": "3"}, {"result": "null"}, {"result": "7"}]


async def test_entity_is_an_instance_with_its_state_in_the_input(harness: AsyncDurableHarness) -> None:
    await harness.wait_for_completion(await harness.start_new("add_and_get", "c2"))
    rec = await harness.store.get_instance("@counter@c2")
    assert rec is not None
    assert (rec.name, rec.runtime_status.name) == ("@counter@c2", "Running")
    assert json.loads(rec.input or "") == {"exists": True, "state": "7", "sorter": {}}
    assert json.loads(rec.custom_status or "") == {"entityExists": True}
    # Every batch ends with continue-as-new: the current execution holds only the restarted scheduler.
    hist = await harness.history("@counter@c2")
    restarted = [E.OrchestratorStarted, E.ExecutionStarted, E.OrchestratorCompleted]
    assert [e["EventType"] for e in hist] == restarted
    assert hist[1]["Name"] == "@counter@c2" and hist[1]["Input"] == rec.input
    assert SchedulerState.load(rec.input).state == "7"


async def test_entity_error_is_catchable_and_keeps_the_entity(harness: AsyncDurableHarness) -> None:
    st = await harness.wait_for_completion(await harness.start_new("catch_entity_error"))
    # The caller gets Exception(<the entity's message>); the SDK does not roll back the failed operation's
    # state change, and the extension stores what the SDK returned.
    assert st.runtime_status is RuntimeStatus.Completed
    assert st.output == {"caught": "counter refused at 0", "after": 1000}


async def test_error_response_shape(harness: AsyncDurableHarness) -> None:
    iid = await harness.start_new("catch_entity_error")
    await harness.wait_for_completion(iid)
    raised = [e for e in await harness.history(iid) if e["EventType"] == E.EventRaised]
    assert json.loads(raised[0]["Input"]) == {"result": '"counter refused at 0"', "exceptionType": "Error"}


async def test_unknown_entity_fails_the_orchestration(harness: AsyncDurableHarness) -> None:
    st = await harness.wait_for_completion(await harness.start_new("unknown_entity"))
    assert st.runtime_status is RuntimeStatus.Failed
    assert st.output == (
        "Orchestrator function 'unknown_entity' failed: The function 'nope' doesn't exist, is disabled, or "
        "is not an entity function. Additional info: The following are the known entity functions: "
        "'Counter', 'Log'."
    )


async def test_client_signal_and_read(harness: AsyncDurableHarness) -> None:
    assert await harness.client.read_entity_state("Counter", "k") == (False, None)
    # The HTTP API hands the client's JSON body on as the input text: the SDK client posts '"5"'.
    await harness.client.signal_entity("Counter", "k", "add", '"5"')
    await harness.client.signal_entity("Counter", "k", "add", '"6"')
    await harness.run_until_idle()
    assert await harness.client.read_entity_state("Counter", "k") == (True, "11")
    await harness.client.signal_entity("COUNTER", "k", "delete", None)
    await harness.run_until_idle()
    assert await harness.client.read_entity_state("Counter", "k") == (False, None)
    rec = await harness.store.get_instance("@counter@k")
    assert rec is not None and json.loads(rec.input or "") == {"sorter": {}}


async def test_concurrent_callers_are_serialized_in_order(harness: AsyncDurableHarness) -> None:
    ids = [await harness.start_new("appender", f"o{i}") for i in range(4)]
    for iid in ids:
        assert (await harness.wait_for_completion(iid)).runtime_status is RuntimeStatus.Completed
    exists, state = await harness.client.read_entity_state("Log", "shared")
    entries = json.loads(state or "")
    assert exists and sorted(entries) == sorted(f"o{i}-{j}" for i in range(4) for j in range(3))
    for i in range(4):  # each caller's operations were applied in the order it sent them
        assert [e for e in entries if e.startswith(f"o{i}-")] == [f"o{i}-{j}" for j in range(3)]


async def test_an_entity_error_does_not_affect_other_instances(harness: AsyncDurableHarness) -> None:
    good = await harness.start_new("add_and_get", "other")
    bad = await harness.start_new("catch_entity_error")
    assert (await harness.wait_for_completion(bad)).runtime_status is RuntimeStatus.Completed
    assert (await harness.wait_for_completion(good)).output == [3, 7]
    assert await harness.client.read_entity_state("Counter", "other") == (True, "7")


async def test_large_state_round_trips(harness: AsyncDurableHarness) -> None:
    # Beyond a table property's 64 KB: DTFx keeps such an Input in a blob and the row points to it.
    big = "x" * 200_000
    await harness.client.signal_entity("Log", "big", "append", json.dumps(json.dumps(big)))
    await harness.run_until_idle()
    exists, state = await harness.client.read_entity_state("Log", "big")
    assert exists and json.loads(state or "") == [big]


async def test_call_raced_against_a_timer(harness: AsyncDurableHarness) -> None:
    st = await harness.wait_for_completion(await harness.start_new("call_with_timeout"))
    assert (st.runtime_status, st.output) == (RuntimeStatus.Completed, {"value": 0})


async def test_large_requests_and_responses_round_trip(harness: AsyncDurableHarness) -> None:
    # Nothing limits an entity's state or messages: DurableTask.AzureStorage puts any message or Input too big
    # for a queue message or a table property into a blob (MessageManager), request, response and state alike.
    big = "y" * 120_000
    st = await harness.wait_for_completion(await harness.start_new("appender", big))
    assert (st.runtime_status, st.output) == (RuntimeStatus.Completed, big)
    exists, state = await harness.client.read_entity_state("Log", "shared")
    assert exists and json.loads(state or "") == [f"{big}-0", f"{big}-1", f"{big}-2"]


async def test_a_signal_to_an_unknown_entity_fails_the_orchestration_as_a_call_does(
    harness: AsyncDurableHarness,
) -> None:
    # DurableOrchestrationContext.SignalEntity goes through CallDurableTaskFunctionAsync, which checks the
    # function exists (ThrowIfFunctionDoesNotExist) before anything is sent.
    st = await harness.wait_for_completion(await harness.start_new("signal_unknown_entity"))
    assert st.runtime_status is RuntimeStatus.Failed
    assert str(st.output).startswith(
        "Orchestrator function 'signal_unknown_entity' failed: The function 'nope' doesn't exist, is "
        "disabled, or is not an entity function."
    )
    assert await harness.client.read_entity_state("Counter", "after-unknown") == (False, None)


async def test_queued_operations_run_as_one_batch(harness: AsyncDurableHarness) -> None:
    # The extension calls an out-of-process entity function once per batch with every queued request
    # (TaskEntityShim.ExecuteOutOfProcBatch, PROTOCOL.md §37): six signals waiting make one episode, one
    # continue-as-new, and apply in the order they were sent. Callers of a busy entity therefore wait
    # for one batch, not for one episode per operation ahead of them.
    for i in range(6):
        await harness.client.signal_entity("Log", "batched", "append", json.dumps(json.dumps(f"s{i}")))
    before = harness.engine.episodes
    await harness.run_until_idle()
    assert harness.engine.episodes - before == 1
    rec = await harness.store.get_instance("@log@batched")
    assert rec is not None and rec.generation == 1
    exists, state = await harness.client.read_entity_state("Log", "batched")
    assert exists and json.loads(state or "") == [f"s{i}" for i in range(6)]
