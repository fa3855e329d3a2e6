"""Calling the registered client functions the way the worker does, with real func.HttpRequest objects.

`invoke` runs the function the app index holds (SDK middleware, problem boundary and handler), with
the durableClient binding JSON as the worker passes it. `RecordingRpc` is a Durable management API
that records every call and answers 500: bad-input tests use it to prove nothing was started.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from aiohttp import web

import clients
from tests.support.webhooks import signed_headers

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:7071"

_functions: dict[str, Any] = {}


def registered(name: str) -> Any:
    """The user function the runtime would call for `name` (indexed once per test session)."""
    if not _functions:
        app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
        app.register_functions(clients.bp)
        _functions.update({f.get_function_name(): f.get_user_function() for f in app.get_functions()})
    return _functions[name]


def request(
    method: str,
    route: str,
    *,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
) -> func.HttpRequest:
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("content-type", "application/json")
    return func.HttpRequest(
        method,
        f"{BASE}/api/{route}",
        headers=headers,
        params=params or {},
        route_params=route_params or {},
        body=body or b"",
    )


async def invoke(name: str, req: func.HttpRequest, binding: str | None = None) -> func.HttpResponse:
    kwargs: dict[str, Any] = {"req": req}
    if binding is not None:
        kwargs["client"] = binding
    response = await registered(name)(**kwargs)
    assert isinstance(response, func.HttpResponse)
    return response


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def binding_json(rpc_base_url: str, hub: str = "TestHubName") -> str:
    """The durableClient binding value (PROTOCOL.md §1.4), pointing the SDK at `rpc_base_url`."""
    webhooks = f"{BASE}/runtime/webhooks/durabletask"
    mgmt = f"{webhooks}/instances/INSTANCEID"
    query = f"?taskHub={hub}&connection=Storage"
    return json.dumps(
        {
            "taskHubName": hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{webhooks}/orchestrators/{{functionName}}",
                "createAndWaitOnNewInstancePostUri": f"{webhooks}/orchestrators/{{functionName}}?timeout=1",
            },
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": mgmt + query,
                "sendEventPostUri": mgmt + "/raiseEvent/{eventName}" + query,
                "terminatePostUri": mgmt + "/terminate?reason={text}&" + query[1:],
                "rewindPostUri": mgmt + "/rewind?reason={text}&" + query[1:],
                "purgeHistoryDeleteUri": mgmt + query,
                "restartPostUri": mgmt + "/restart" + query,
                "suspendPostUri": mgmt + "/suspend?reason={text}&" + query[1:],
                "resumePostUri": mgmt + "/resume?reason={text}&" + query[1:],
            },
            "baseUrl": webhooks,
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": rpc_base_url,
            "httpBaseUrl": None,
        }
    )


@dataclass
class RecordingRpc:
    """A management API stand-in: records each request, answers with `reply` (500 by default)."""

    calls: list[str] = field(default_factory=list)
    reply: tuple[int, Any] = (500, {"Message": "unexpected call in a bad-input test"})
    binding: str = ""


@asynccontextmanager
async def recording_rpc() -> AsyncIterator[RecordingRpc]:
    rpc = RecordingRpc()

    async def handle(request: web.Request) -> web.Response:
        rpc.calls.append(f"{request.method} {request.path_qs}")
        status, payload = rpc.reply
        return web.json_response(payload, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rpc.binding = binding_json(f"http://127.0.0.1:{port}/durabletask/")
    try:
        yield rpc
    finally:
        from azure.durable_functions.models.utils import http_utils

        await http_utils._close_session()
        await runner.cleanup()


def dev_settings() -> dict[str, str]:
    """local.settings.json's Values: the app's dev configuration, used as the test environment."""
    values = json.loads((ROOT / "local.settings.json").read_text())["Values"]
    return {k: str(v) for k, v in values.items()}


def signed(
    body: bytes, secret: str, *, webhook_id: str = "msg_test", at: float | None = None
) -> dict[str, str]:
    """Standard Webhooks headers signed by hand (booking-api.md), not with the app's library."""
    return signed_headers(body, secret, webhook_id, at)


async def post_booking(rpc: Any, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """`POST /api/bookings` through the real edge function, its durable client bound to `rpc`."""
    return await invoke("start_booking", request("POST", "bookings", body=body, headers=headers), rpc.binding)
