"""The SDK's own DurableOrchestrationClient against devhost's management API (in-memory task hub)."""

from __future__ import annotations

import datetime as dt
import json

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions import OrchestrationRuntimeStatus as Status

from devhost.http.testing import DurableTestHost


def client_for(host: DurableTestHost) -> df.DurableOrchestrationClient:
    return df.DurableOrchestrationClient(host.client_binding)


async def wait_status(
    client: df.DurableOrchestrationClient, instance_id: str, wanted: Status
) -> df.DurableOrchestrationStatus:
    import asyncio

    for _ in range(500):
        status = await client.get_status(instance_id)
        if status.runtime_status == wanted:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"{instance_id} never reached {wanted}: {status.runtime_status}")


async def test_start_new_runs_to_completion(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("chaining", None, {"city": "Paris"})
    assert len(instance_id) == 32
    await host.wait_for(instance_id)
    status = await client.get_status(instance_id)
    assert status.runtime_status == Status.Completed
    assert status.output == ["Hello Paris!", "Hello Seattle!"]
    assert status.name == "chaining"
    # Python-client starts are double-encoded: the input shows as a string holding JSON (PROTOCOL.md §5.3).
    assert status.input_ == '{"city": "Paris"}'
    assert status.history is None  # the extension sends historyEvents, which the SDK does not map


async def test_start_with_instance_id_and_duplicate(host: DurableTestHost) -> None:
    client = client_for(host)
    assert await client.start_new("approval", "my-id") == "my-id"
    with pytest.raises(Exception) as raised:
        await client.start_new("approval", "my-id")
    assert "already exists" in str(raised.value)


async def test_start_unknown_orchestrator_raises_extension_message(host: DurableTestHost) -> None:
    client = client_for(host)
    with pytest.raises(Exception) as raised:
        await client.start_new("nope")
    assert str(raised.value).startswith(
        "The function 'nope' doesn't exist, is disabled, or is not an orchestrator function"
    )


async def test_raise_event_custom_status_and_double_encoding(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("approval")
    status = await wait_status(client, instance_id, Status.Running)
    assert status.custom_status == {"stage": "waiting"}
    await client.raise_event(instance_id, "Approval", {"ok": True})
    await host.wait_for(instance_id)
    status = await client.get_status(instance_id)
    # The client's payload arrives as a JSON string in the orchestrator (SDK issue #295, PROTOCOL.md §4.1).
    assert status.output == {"approved": '{"ok": true}'}
    assert status.custom_status == {"stage": "done"}
    with pytest.raises(Exception) as raised:
        await client.raise_event(instance_id, "Approval", 1)
    assert str(raised.value) == f"Instance with ID {instance_id} is gone: either completed or failed"
    with pytest.raises(Exception) as raised:
        await client.raise_event("no-such-instance", "Approval", 1)
    assert str(raised.value) == "No instance with ID no-such-instance found."


async def test_get_status_missing_is_falsy(host: DurableTestHost) -> None:
    status = await client_for(host).get_status("missing")
    assert not status
    assert status.runtime_status is None


async def test_get_status_with_history(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("chaining", None, {"city": "Oslo"})
    await host.wait_for(instance_id)
    status = await client.get_status(instance_id, show_history=True, show_history_output=True)
    events = status.historyEvents
    kinds = [e["EventType"] for e in events]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"]
    assert events[0]["FunctionName"] == "chaining"
    assert events[1]["FunctionName"] == "say_hello" and events[1]["Result"] == "Hello Oslo!"
    assert "ScheduledTime" in events[1] and "TaskScheduledId" not in events[1]
    assert events[3]["OrchestrationStatus"] == "Completed"
    assert events[3]["Result"] == ["Hello Oslo!", "Hello Seattle!"]


async def test_terminate(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("approval")
    await wait_status(client, instance_id, Status.Running)
    await client.terminate(instance_id, "user asked")
    record = await host.wait_for(instance_id)
    status = await client.get_status(instance_id)
    assert status.runtime_status == Status.Terminated
    assert status.output == "user asked"
    assert record.output == "user asked"
    # Terminating a finished instance is 410, which the SDK accepts silently.
    await client.terminate(instance_id, "again")
    with pytest.raises(Exception, match="No instance with ID 'no-such-instance' found."):
        await client.terminate("no-such-instance", "x")


async def test_suspend_and_resume(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("approval")
    await wait_status(client, instance_id, Status.Running)
    await client.suspend(instance_id, "pause")
    await wait_status(client, instance_id, Status.Suspended)
    await client.resume(instance_id, "go")
    await wait_status(client, instance_id, Status.Running)
    await approve_to_completion(host, client, instance_id)


async def approve_to_completion(
    host: DurableTestHost, client: df.DurableOrchestrationClient, instance_id: str
) -> None:
    """The `approval` orchestration gets its event and completes."""
    await client.raise_event(instance_id, "Approval", "yes")
    await host.wait_for(instance_id)
    assert (await client.get_status(instance_id)).runtime_status == Status.Completed


async def test_failed_orchestration_status(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("failing")
    await host.wait_for(instance_id)
    status = await client.get_status(instance_id)
    assert status.runtime_status == Status.Failed
    assert status.output.startswith("Orchestrator function 'failing' failed:")
    assert "kaboom" in status.output


async def test_get_status_all_and_by(host: DurableTestHost) -> None:
    client = client_for(host)
    done = await client.start_new("chaining", "a-done")
    await host.wait_for(done)
    waiting = await client.start_new("approval", "b-waiting")
    await wait_status(client, waiting, Status.Running)
    everything = await client.get_status_all()
    assert sorted(s.instance_id for s in everything) == ["a-done", "b-waiting"]
    running = await client.get_status_by(runtime_status=[Status.Running])
    assert [s.instance_id for s in running] == ["b-waiting"]
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    recent = await client.get_status_by(
        created_time_from=since, runtime_status=[Status.Completed, Status.Running]
    )
    assert sorted(s.instance_id for s in recent) == ["a-done", "b-waiting"]
    future = await client.get_status_by(created_time_from=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert future == []


async def test_purge_instance_history(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("chaining")
    await host.wait_for(instance_id)
    result = await client.purge_instance_history(instance_id)
    assert result.instances_deleted == 1
    assert not await client.get_status(instance_id)
    again = await client.purge_instance_history(instance_id)
    assert again.instances_deleted == 0


async def test_purge_instance_history_by(host: DurableTestHost) -> None:
    client = client_for(host)
    first = await client.start_new("chaining")
    await host.wait_for(first)
    running = await client.start_new("approval")
    await wait_status(client, running, Status.Running)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    # Naming terminal statuses keeps the purge to finished instances (without any, the running one would go
    # too: PROTOCOL.md §37).
    finished = [Status.Completed, Status.Failed, Status.Terminated]
    result = await client.purge_instance_history_by(created_time_from=since, runtime_status=finished)
    assert result.instances_deleted == 1
    assert await client.get_status(running)


async def test_restart_returns_management_payload(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("chaining", None, {"city": "Rome"})
    await host.wait_for(instance_id)
    restarted = await client.restart(instance_id)
    # SDK quirk (PROTOCOL.md §9.10): restart() returns the whole management payload when the body is not
    # empty.
    assert isinstance(restarted, dict) and restarted["id"] != instance_id
    record = await host.wait_for(restarted["id"])
    assert json.loads(record.output or "null") == ["Hello Rome!", "Hello Seattle!"]


async def test_wait_for_completion_or_create_check_status_response(host: DurableTestHost) -> None:
    client = client_for(host)
    req = func.HttpRequest("POST", host.base_url + "/api/x", body=b"")
    instance_id = await client.start_new("chaining")
    response = await client.wait_for_completion_or_create_check_status_response(req, instance_id, 10000, 50)
    assert response.status_code == 200
    assert json.loads(response.get_body()) == ["Hello Tokyo!", "Hello Seattle!"]

    waiting = await client.start_new("approval")
    response = await client.wait_for_completion_or_create_check_status_response(req, waiting, 200, 50)
    assert response.status_code == 202
    body = json.loads(response.get_body())
    assert body["id"] == waiting
    assert response.headers["Location"] == body["statusQueryGetUri"]

    failing = await client.start_new("failing")
    response = await client.wait_for_completion_or_create_check_status_response(req, failing, 10000, 50)
    assert response.status_code == 500


async def test_call_invokes_client_function_like_the_worker(host: DurableTestHost) -> None:
    req = func.HttpRequest("POST", host.base_url + "/api/start/chaining", body=b'{"city": "Bern"}',
                           headers={"content-type": "application/json"}, route_params={"name": "chaining"})
    response = await host.call("start", req)
    assert response.status_code == 202
    record = await host.wait_for(json.loads(response.get_body())["id"])
    assert json.loads(record.output or "") == ["Hello Bern!", "Hello Seattle!"]
    with pytest.raises(KeyError):
        await host.call("no_such_function", req)
