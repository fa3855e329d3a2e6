"""The SDK client's loose error reporting, pinned: what raise_event and get_status do on 404/410/500.

Runs the SDK's real DurableOrchestrationClient against a recording management API that answers
what the extension answers (PROTOCOL.md §1.5, §5.1).
"""

from __future__ import annotations

import azure.durable_functions as df
import pytest

from clients.durable import raise_event, status_of
from clients.errors import DurableUnavailable, InstanceGone, InstanceMissing
from tests.clients.support import RecordingRpc


async def test_raise_event_on_a_finished_instance_is_gone(rpc: RecordingRpc) -> None:
    rpc.reply = (410, None)
    with pytest.raises(InstanceGone):
        await raise_event(df.DurableOrchestrationClient(rpc.binding), "bk_1", "PaymentSucceeded", {"a": 1})
    # The payload is JSON-encoded twice by the SDK (PROTOCOL.md §1.5); the path names the event.
    assert rpc.calls == ["POST /durabletask/instances/bk_1/raiseEvent/PaymentSucceeded"]


async def test_raise_event_on_an_unknown_instance_is_missing(rpc: RecordingRpc) -> None:
    rpc.reply = (404, None)
    with pytest.raises(InstanceMissing):
        await raise_event(df.DurableOrchestrationClient(rpc.binding), "bk_1", "CancelRequested", {})


async def test_raise_event_on_a_broken_management_api_is_unavailable(rpc: RecordingRpc) -> None:
    rpc.reply = (500, {"Message": "Something went wrong"})
    with pytest.raises(DurableUnavailable):
        await raise_event(df.DurableOrchestrationClient(rpc.binding), "bk_1", "CancelRequested", {})


async def test_raise_event_accepted(rpc: RecordingRpc) -> None:
    rpc.reply = (202, None)
    await raise_event(df.DurableOrchestrationClient(rpc.binding), "bk_1", "CancelRequested", {})


async def test_get_status_404_is_a_falsy_status(rpc: RecordingRpc) -> None:
    rpc.reply = (404, None)
    status = await status_of(df.DurableOrchestrationClient(rpc.binding), "bk_1")
    assert not status
    assert rpc.calls == ["GET /durabletask/instances/bk_1"]


async def test_get_status_500_is_unavailable_not_missing(rpc: RecordingRpc) -> None:
    rpc.reply = (
        500,
        {"Message": "Something went wrong while processing your request", "ExceptionMessage": "x"},
    )
    with pytest.raises(DurableUnavailable):
        await status_of(df.DurableOrchestrationClient(rpc.binding), "bk_1")


async def test_history_is_asked_for_with_its_output(rpc: RecordingRpc) -> None:
    rpc.reply = (404, None)
    await status_of(df.DurableOrchestrationClient(rpc.binding), "bk_1", history=True)
    assert rpc.calls == ["GET /durabletask/instances/bk_1?showHistory=True&showHistoryOutput=True"]


async def test_a_management_api_that_is_down_is_unavailable() -> None:
    import socket

    from tests.clients.support import binding_json

    # A port that was free a moment ago and is closed now: the connection is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = df.DurableOrchestrationClient(binding_json(f"http://127.0.0.1:{port}/durabletask/"))
    with pytest.raises(DurableUnavailable):
        await status_of(client, "bk_1")
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()


@pytest.mark.parametrize("key", [None, "order-1"])
async def test_a_start_the_management_api_refuses_is_503_not_500(rpc: RecordingRpc, key: str | None) -> None:
    from tests.clients.support import body_of, invoke, request

    body = {
        "traveller": {"name": "Ada", "email": "ada@example.com"},
        "trips": [{"conferenceId": "ndc-oslo-2027", "origin": "BER"}],
    }
    headers = {"Idempotency-Key": key} if key else {}
    response = await invoke(
        "start_booking", request("POST", "bookings", body=body, headers=headers), rpc.binding
    )
    assert response.status_code == 503 and body_of(response)["status"] == 503
    assert response.headers["Retry-After"]
    assert rpc.calls  # it did try
