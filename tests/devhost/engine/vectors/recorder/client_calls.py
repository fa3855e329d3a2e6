"""Drive the installed DurableOrchestrationClient against a recording stub of the
extension's local RPC endpoint and record the exact HTTP requests it sends."""

import asyncio
import json
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from aiohttp import web

from tests.devhost.engine.vectors.recorder.versions import DURABLE

# The vector shows this RPC address; the stub really listens on a free port, which the client is given.
RECORDED_RPC_BASE = "http://127.0.0.1:17071/durabletask/"

REQS: list[dict[str, Any]] = []
HUB = "TestHubName"
BASE = "http://localhost:7071/runtime/webhooks/durabletask"
QS = f"taskHub={HUB}&connection=Storage&code=SYSTEMKEY"


def mgmt(iid):
    p = f"{BASE}/instances/{iid}"
    return {
        "id": iid,
        "statusQueryGetUri": f"{p}?{QS}",
        "sendEventPostUri": f"{p}/raiseEvent/{{eventName}}?{QS}",
        "terminatePostUri": f"{p}/terminate?reason={{text}}&{QS}",
        "rewindPostUri": f"{p}/rewind?reason={{text}}&{QS}",
        "purgeHistoryDeleteUri": f"{p}?{QS}",
        "restartPostUri": f"{p}/restart?{QS}",
        "suspendPostUri": f"{p}/suspend?reason={{text}}&{QS}",
        "resumePostUri": f"{p}/resume?reason={{text}}&{QS}",
    }


STATUS = {
    "name": "chaining",
    "instanceId": "abc123",
    "runtimeStatus": "Running",
    "input": '{"city": "Tokyo"}',
    "customStatus": None,
    "output": None,
    "createdTime": "2024-01-01T00:00:00Z",
    "lastUpdatedTime": "2024-01-01T00:00:05Z",
}


async def handler(request: web.Request):
    body = await request.read()
    REQS.append(
        {
            "method": request.method,
            "path_qs": request.path_qs,
            "content_type": request.headers.get("Content-Type"),
            "extra_headers": {
                k: v
                for k, v in request.headers.items()
                if k.lower() in ("traceparent", "tracestate", "x-azure-functions-invocationid")
            },
            "body": body.decode() if body else None,
        }
    )
    p = request.path
    if p.startswith("/durabletask/orchestrators/"):
        parts = p.split("/")
        iid = parts[4] if len(parts) > 4 and parts[4] else "f0e1d2c3b4a5968778695a4b3c2d1e0f"
        payload = mgmt(iid)
        payload.pop("rewindPostUri")
        return web.json_response(payload, status=202)
    if "/raiseEvent/" in p or p.endswith(("/terminate", "/suspend", "/resume")):
        return web.Response(status=202)
    if p.endswith("/rewind"):
        return web.Response(status=202)
    if p.endswith("/restart"):
        return web.json_response(mgmt("new-id-after-restart"), status=202)
    if request.method == "DELETE":
        return web.json_response({"instancesDeleted": 1}, status=200)
    if p == "/durabletask/instances/":
        return web.json_response([STATUS], status=200)
    if p.startswith("/durabletask/instances/missing"):
        return web.Response(status=404)
    return web.json_response(STATUS, status=202)


async def main(out_dir: Path) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    binding = {
        "taskHubName": HUB,
        "creationUrls": {
            "createNewInstancePostUri": f"{BASE}/orchestrators/{{functionName}}[/{{instanceId}}]?code=SYSTEMKEY",
            "createAndWaitOnNewInstancePostUri": f"{BASE}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&code=SYSTEMKEY",
        },
        "managementUrls": mgmt("INSTANCEID"),
        "baseUrl": BASE,
        "requiredQueryStringParameters": "code=SYSTEMKEY",
        "rpcBaseUrl": RECORDED_RPC_BASE,
    }
    out: dict[str, Any] = {"binding_json_given_to_client": binding, "calls": []}
    live_binding = {**binding, "rpcBaseUrl": f"http://127.0.0.1:{port}/durabletask/"}
    client = df.DurableOrchestrationClient(
        json.dumps(live_binding), function_invocation_id="11111111-2222-3333-4444-555555555555"
    )

    async def rec(label, coro):
        n = len(REQS)
        try:
            r = await coro
            if isinstance(r, df.models.DurableOrchestrationStatus.DurableOrchestrationStatus) and not r:
                r = {
                    "bool(status)": False,
                    "runtime_status": r.runtime_status,
                    "attrs": {k: v for k, v in vars(r).items() if not k.startswith("_")},
                }
            elif hasattr(r, "to_json"):
                r = {**r.to_json(), "__bool__": bool(r)}
            elif hasattr(r, "instances_deleted"):
                r = {"instances_deleted": r.instances_deleted}
            elif isinstance(r, list):
                r = [x.to_json() for x in r]
            res = {"returned": r}
        except Exception as e:
            res = {"raised": f"{type(e).__name__}: {e}"}
        out["calls"].append({"sdk_call": label, "http_requests": REQS[n:], **res})

    await rec(
        "start_new('chaining', None, {'city': 'Tokyo'})",
        client.start_new("chaining", None, {"city": "Tokyo"}),
    )
    await rec("start_new('chaining', 'my-id')  # no input", client.start_new("chaining", "my-id"))
    await rec(
        "start_new('chaining', 'my-id', 'plain string')",
        client.start_new("chaining", "my-id", "plain string"),
    )
    await rec(
        "raise_event('abc123', 'Approval', {'ok': True})",
        client.raise_event("abc123", "Approval", {"ok": True}),
    )
    await rec("raise_event('abc123', 'Approval')  # no data", client.raise_event("abc123", "Approval"))
    await rec("get_status('abc123')", client.get_status("abc123"))
    await rec(
        "get_status('abc123', show_history=True, show_history_output=True, show_input=True)",
        client.get_status("abc123", True, True, True),
    )
    await rec("get_status('missing')", client.get_status("missing"))
    await rec("get_status_all()", client.get_status_all())
    import datetime as dt

    await rec(
        "get_status_by(created_time_from=2024-01-01, runtime_status=[Running, Pending])",
        client.get_status_by(
            created_time_from=dt.datetime(2024, 1, 1),
            runtime_status=[df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending],
        ),
    )
    await rec("terminate('abc123', 'user asked')", client.terminate("abc123", "user asked"))
    await rec("suspend('abc123', 'pause')", client.suspend("abc123", "pause"))
    await rec("resume('abc123', 'go')", client.resume("abc123", "go"))
    await rec("rewind('abc123', 'fix')", client.rewind("abc123", "fix"))
    await rec("restart('abc123')", client.restart("abc123"))
    await rec("purge_instance_history('abc123')", client.purge_instance_history("abc123"))
    await rec(
        "purge_instance_history_by(created_time_from=2024-01-01, runtime_status=[Completed])",
        client.purge_instance_history_by(
            created_time_from=dt.datetime(2024, 1, 1),
            runtime_status=[df.OrchestrationRuntimeStatus.Completed],
        ),
    )
    await rec(
        "signal_entity(EntityId('Counter','k1'), 'add', 5)",
        client.signal_entity(df.EntityId("Counter", "k1"), "add", 5),
    )
    req = func.HttpRequest(
        method="POST",
        url="https://myapp.example.net:8443/api/orchestrators/chaining?x=1",
        body=b"{}",
        headers={},
    )
    resp = client.create_check_status_response(req, "abc123")
    out["create_check_status_response"] = {
        "request_url": req.url,
        "status_code": resp.status_code,
        "headers": dict(resp.headers),
        "body": json.loads(resp.get_body()),
    }
    out["create_http_management_payload('abc123')"] = client.create_http_management_payload("abc123")
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()
    await runner.cleanup()
    with open(out_dir / "10_durable_client_http_calls.json", "w") as f:
        json.dump(
            {
                "title": "What the SDK DurableOrchestrationClient sends to rpcBaseUrl (captured against a local stub) + create_check_status_response",
                "sdk": f"azure-functions-durable {DURABLE}",
                "notes": [
                    "Bodies are JSON-encoded TWICE for start_new/raise_event: client df_dumps()/json.dumps() the value to a str, then aiohttp post(json=str) encodes that str again.",
                    "Query booleans are Python str(True) -> 'True'; .NET bool.TryParse is case-insensitive.",
                    "Stub responses mimic HttpApiHandler (202 + management payload for start, 202 for raise/terminate/suspend/resume/rewind, 200 for purge/list, 404 for unknown).",
                ],
                **out,
            },
            f,
            indent=2,
        )


def record(out: Path) -> None:
    asyncio.run(main(out))
