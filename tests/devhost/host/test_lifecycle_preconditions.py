"""Suspend and resume refuse an instance in the wrong state, as the extension does (PROTOCOL.md §33):
its DurableClient throws InvalidOperationException, the HTTP API answers 500 with the error body, the
SDK client raises, and nothing is sent to the instance."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from azure.durable_functions import OrchestrationRuntimeStatus as Status

from devhost.http.testing import DurableTestHost
from tests.devhost.host.test_sdk_client import approve_to_completion, client_for, wait_status


async def _post(host: DurableTestHost, instance_id: str, operation: str) -> httpx.Response:
    url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance_id}/{operation}?reason=r"
    async with httpx.AsyncClient() as http:
        return await http.post(url)


async def test_suspending_a_suspended_instance_is_refused(
    host: DurableTestHost, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(host)
    instance_id = await client.start_new("approval")
    await wait_status(client, instance_id, Status.Running)
    await client.suspend(instance_id, "pause")
    await wait_status(client, instance_id, Status.Suspended)

    response = await _post(host, instance_id, "suspend")
    assert response.status_code == 500
    assert response.json() == {
        "Message": "Something went wrong while processing your request",
        "ExceptionMessage": f"Cannot suspend the orchestration instance {instance_id} because instance is "
        "in the Suspended state.",
        "ExceptionType": "System.InvalidOperationException",
    }
    assert "Cannot suspend orchestration instance in the Suspended state." in caplog.text
    with pytest.raises(Exception, match="unexpected status code 500"):
        await client.suspend(instance_id, "again")


async def test_resuming_a_running_instance_is_refused_and_sends_nothing(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("approval")
    await wait_status(client, instance_id, Status.Running)

    response = await _post(host, instance_id, "resume")
    assert response.status_code == 500
    assert response.json()["ExceptionMessage"] == (
        f"Cannot resume the orchestration instance {instance_id} because instance is in the Running state."
    )
    with pytest.raises(Exception, match="unexpected status code 500"):
        await client.resume(instance_id, "go")
    await asyncio.sleep(0.2)
    history = [
        e["EventType"] for e in (await client.get_status(instance_id, show_history=True)).historyEvents
    ]
    assert "ExecutionResumed" not in history
    await approve_to_completion(host, client, instance_id)


async def test_a_finished_instance_is_gone_and_an_unknown_one_not_found(host: DurableTestHost) -> None:
    client = client_for(host)
    instance_id = await client.start_new("approval")
    await approve_to_completion(host, client, instance_id)
    for operation in ("suspend", "resume", "terminate"):
        assert (await _post(host, instance_id, operation)).status_code == 410
        assert (await _post(host, "no-such-instance", operation)).status_code == 404
    # The SDK takes 410 as done for suspend and resume (its switch statement): no error.
    await client.suspend(instance_id, "late")
    await client.resume(instance_id, "late")
    assert (await client.get_status(instance_id)).runtime_status == Status.Completed
