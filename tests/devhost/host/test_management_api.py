"""The Durable HTTP management API at the wire level: routes, status codes, headers and bodies (PROTOCOL.md
§5)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from devhost.http.testing import DurableTestHost

WEBHOOK = "/runtime/webhooks/durabletask"
CHECK_STATUS_KEYS = ["id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                     "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri"]
STATUS_KEYS = ["name", "instanceId", "runtimeStatus", "input", "customStatus", "output", "createdTime",
               "lastUpdatedTime"]
SECONDS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def start(http: aiohttp.ClientSession, host: DurableTestHost, name: str, body: Any = None,
                instance_id: str = "") -> dict[str, Any]:
    url = f"{host.base_url}{WEBHOOK}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    async with http.post(url, json=body) as r:
        assert r.status == 202, await r.text()
        return dict(await r.json())


async def until(host: DurableTestHost, instance_id: str, status: str) -> None:
    for _ in range(500):
        record = await host.status(instance_id)
        if record is not None and record.runtime_status.name == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{instance_id} never reached {status}")


@pytest.mark.parametrize("base", [WEBHOOK, "/durabletask"])
async def test_start_returns_check_status(
    http: aiohttp.ClientSession, host: DurableTestHost, base: str
) -> None:
    async with http.post(f"{host.base_url}{base}/orchestrators/chaining", json={"city": "Lima"}) as r:
        assert r.status == 202
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert r.headers["Retry-After"] == "10"
        body = await r.json()
    assert list(body) == CHECK_STATUS_KEYS  # the extension's own payload has no rewindPostUri
    iid = body["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", iid)
    assert r.headers["Location"] == body["statusQueryGetUri"]
    prefix = f"{host.base_url}{WEBHOOK}/instances/{iid}"
    qs = f"taskHub={host.hub_name}&connection=Storage"
    assert body["statusQueryGetUri"] == f"{prefix}?{qs}"
    assert body["sendEventPostUri"] == f"{prefix}/raiseEvent/{{eventName}}?{qs}"
    assert body["terminatePostUri"] == f"{prefix}/terminate?reason={{text}}&{qs}"
    assert body["purgeHistoryDeleteUri"] == f"{prefix}?{qs}"
    assert body["restartPostUri"] == f"{prefix}/restart?{qs}"
    assert body["suspendPostUri"] == f"{prefix}/suspend?reason={{text}}&{qs}"
    assert body["resumePostUri"] == f"{prefix}/resume?reason={{text}}&{qs}"
    await host.wait_for(iid)
    async with http.get(body["statusQueryGetUri"]) as r:
        assert r.status == 200
        status = await r.json()
    assert list(status) == STATUS_KEYS
    assert status["input"] == {"city": "Lima"}  # an HTTP body is stored as is: the input shows as an object
    assert status["output"] == ["Hello Lima!", "Hello Seattle!"]
    assert status["runtimeStatus"] == "Completed"
    assert SECONDS_Z.match(status["createdTime"]) and SECONDS_Z.match(status["lastUpdatedTime"])


async def test_start_bad_input(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    url = f"{host.base_url}{WEBHOOK}/orchestrators/chaining"
    async with http.post(url, data=b"{not json", headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400
        body = await r.json()
    assert body["Message"] == "Invalid JSON content" and "StackTrace" not in body
    async with http.post(f"{host.base_url}{WEBHOOK}/orchestrators/nope") as r:
        assert r.status == 400
        body = await r.json()
    assert body["Message"] == "One or more of the arguments submitted is incorrect"
    assert body["ExceptionMessage"].startswith("The function 'nope' doesn't exist, is disabled, or is not an "
                                               "orchestrator function. Additional info:")
    assert "StackTrace" not in body
    async with http.post(f"{url}/@entity-like") as r:
        assert r.status == 400
    async with http.get(url) as r:
        assert r.status == 404  # start is POST only


async def test_start_existing_running_id_conflicts(
    http: aiohttp.ClientSession, host: DurableTestHost
) -> None:
    await start(http, host, "approval", instance_id="dup")
    async with http.post(f"{host.base_url}{WEBHOOK}/orchestrators/approval/dup") as r:
        # Current HttpApiHandler: OrchestrationAlreadyExistsException → 409 Conflict.
        assert r.status == 409
        assert "already exists" in (await r.json())["Message"]


async def test_start_and_wait(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    url = f"{host.base_url}{WEBHOOK}/orchestrators/chaining?timeout=10&pollingInterval=0.05"
    async with http.post(url) as r:
        assert r.status == 200
        assert await r.json() == ["Hello Tokyo!", "Hello Seattle!"]
    url = f"{host.base_url}{WEBHOOK}/orchestrators/approval?timeout=0.2&pollingInterval=0.05"
    async with http.post(url) as r:
        assert r.status == 202
        assert list(await r.json()) == CHECK_STATUS_KEYS


async def test_status_codes(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/unknown") as r:
        assert r.status == 404
        assert await r.read() == b""
    running = (await start(http, host, "approval"))["id"]
    await until(host, running, "Running")
    url = f"{host.base_url}{WEBHOOK}/instances/{running}?showInput=false"
    async with http.get(url) as r:
        assert r.status == 202
        assert r.headers["Location"] == url
        assert r.headers["Retry-After"] == "5"
        body = await r.json()
    assert body["input"] is None and body["customStatus"] == {"stage": "waiting"}
    failed = (await start(http, host, "failing"))["id"]
    await host.wait_for(failed)
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/{failed}") as r:
        assert r.status == 200
        assert (await r.json())["runtimeStatus"] == "Failed"
    url = f"{host.base_url}{WEBHOOK}/instances/{failed}?returnInternalServerErrorOnFailure=true"
    async with http.get(url) as r:
        assert r.status == 500


async def test_history_events(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    iid = (await start(http, host, "chaining"))["id"]
    await host.wait_for(iid)
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/{iid}?showHistory=true") as r:
        events = (await r.json())["historyEvents"]
    assert [e["EventType"] for e in events] == ["ExecutionStarted", "TaskCompleted", "TaskCompleted",
                                              "ExecutionCompleted"]
    assert all("EventId" not in e and "IsPlayed" not in e for e in events)
    assert "Result" not in events[1] and "Result" not in events[3]  # only with showHistoryOutput
    assert events[1]["FunctionName"] == "say_hello"
    url = f"{host.base_url}{WEBHOOK}/instances/{iid}?showHistory=True&showHistoryOutput=TRUE"
    async with http.get(url) as r:
        events = (await r.json())["historyEvents"]
    assert events[1]["Result"] == "Hello Tokyo!"


async def test_raise_event_rules(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    iid = (await start(http, host, "approval"))["id"]
    await until(host, iid, "Running")
    base = f"{host.base_url}{WEBHOOK}/instances/{iid}/raiseEvent/Approval"
    async with http.post(base, data=b"yes", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 400
        assert (await r.json())["Message"] == "Only application/json request content is supported"
    async with http.post(base, data=b"{broken", headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400
    async with http.post(base, json={"ok": True}) as r:
        assert r.status == 202
    record = await host.wait_for(iid)
    # Through the HTTP API the event input is the JSON itself: the orchestrator gets a dict (PROTOCOL.md
    # §4.1).
    assert json.loads(record.output or "") == {"approved": {"ok": True}}
    async with http.post(base, json=1) as r:
        assert r.status == 410
    async with http.post(f"{host.base_url}{WEBHOOK}/instances/nobody/raiseEvent/Approval", json=1) as r:
        assert r.status == 404


async def test_lifecycle_status_codes(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    iid = (await start(http, host, "approval"))["id"]
    await until(host, iid, "Running")
    base = f"{host.base_url}{WEBHOOK}/instances/{iid}"
    async with http.post(f"{base}/suspend?reason=hold") as r:
        assert r.status == 202
    await until(host, iid, "Suspended")
    async with http.post(f"{base}/resume?reason=go") as r:
        assert r.status == 202
    await until(host, iid, "Running")
    async with http.post(f"{base}/terminate?reason=stop%20it") as r:
        assert r.status == 202
    record = await host.wait_for(iid)
    assert record.output == "stop it"
    for op in ("terminate", "suspend", "resume"):
        async with http.post(f"{base}/{op}") as r:
            assert r.status == 410
        async with http.post(f"{host.base_url}{WEBHOOK}/instances/nobody/{op}") as r:
            assert r.status == 404
    async with http.post(f"{base}/rewind") as r:
        assert r.status == 412  # only Failed instances can be rewound
    async with http.post(f"{base}/unknown-op") as r:
        assert r.status == 404


async def test_restart(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    first = await start(http, host, "chaining", {"city": "Kyiv"}, instance_id="orig")
    await host.wait_for(first["id"])
    async with http.post(first["restartPostUri"]) as r:
        assert r.status == 202
        body = await r.json()
    assert body["id"] != "orig" and list(body) == CHECK_STATUS_KEYS
    record = await host.wait_for(body["id"])
    assert json.loads(record.output or "") == ["Hello Kyiv!", "Hello Seattle!"]
    url = f"{host.base_url}{WEBHOOK}/instances/orig/restart?restartWithNewInstanceId=false"
    async with http.post(url) as r:
        assert r.status == 202
        assert (await r.json())["id"] == "orig"
    async with http.post(f"{host.base_url}{WEBHOOK}/instances/nobody/restart") as r:
        assert r.status == 400


async def test_list_filters_and_continuation(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    for name in ("p-1", "p-2", "p-3"):
        await host.wait_for((await start(http, host, "chaining", instance_id=name))["id"])
    other = (await start(http, host, "approval", instance_id="q-1"))["id"]
    await until(host, other, "Running")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        headers: dict[str, str] = {"x-ms-continuation-token": token} if token else {}
        url = f"{host.base_url}{WEBHOOK}/instances/?instanceIdPrefix=p-&top=2"
        async with http.get(url, headers=headers) as r:
            assert r.status == 200
            seen += [s["instanceId"] for s in await r.json()]
            token = r.headers["x-ms-continuation-token"]
        pages += 1
        if not token:
            break
    assert seen == ["p-1", "p-2", "p-3"] and pages == 2
    async with http.get(f"{host.base_url}{WEBHOOK}/instances?runtimeStatus=Running,Bogus") as r:
        assert [s["instanceId"] for s in await r.json()] == ["q-1"]
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/?createdTimeFrom=2999-01-01T00:00:00Z") as r:
        assert await r.json() == []
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/?showInput=false&instanceIdPrefix=q") as r:
        assert (await r.json())[0]["input"] is None
    junk = {"x-ms-continuation-token": "junk"}
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/", headers=junk) as r:
        assert r.status == 400


async def test_purge(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    done = (await start(http, host, "chaining", instance_id="old"))["id"]
    await host.wait_for(done)
    running = (await start(http, host, "approval", instance_id="live"))["id"]
    await until(host, running, "Running")
    async with http.delete(f"{host.base_url}{WEBHOOK}/instances/live") as r:
        assert r.status == 412  # only terminal instances can be purged
    async with http.delete(f"{host.base_url}{WEBHOOK}/instances/") as r:
        assert r.status == 400
        assert await r.json() == "Please provide value for 'createdTimeFrom' parameter."
    # With a terminal status the filter keeps to it (without one it would take the running instance too,
    # PROTOCOL.md §37).
    query = "createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Completed"
    finished = f"{host.base_url}{WEBHOOK}/instances/?{query}"
    async with http.delete(finished) as r:
        assert r.status == 200
        assert await r.json() == {"instancesDeleted": 1}
    async with http.delete(finished) as r:
        assert r.status == 404
    async with http.delete(f"{host.base_url}{WEBHOOK}/instances/old") as r:
        assert r.status == 404
    await http.post(f"{host.base_url}{WEBHOOK}/instances/live/terminate")
    await host.wait_for(running)
    async with http.delete(f"{host.base_url}{WEBHOOK}/instances/live") as r:
        assert r.status == 200
        assert await r.json() == {"instancesDeleted": 1}


async def test_unknown_routes_and_other_hubs(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    async with http.get(f"{host.base_url}{WEBHOOK}/nothing") as r:
        assert r.status == 404
    async with http.get(f"{host.base_url}/runtime/webhooks/durableTask/instances/") as r:
        assert r.status == 200  # the docs' spelling: routing is case-insensitive
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/x?taskHub=OtherHub") as r:
        assert r.status == 400
    async with http.get(f"{host.base_url}{WEBHOOK}/instances/x?TASKHUB={host.hub_name.lower()}") as r:
        assert r.status == 404  # query names and hub names are case-insensitive


async def test_client_function_through_front(http: aiohttp.ClientSession, host: DurableTestHost) -> None:
    async with http.post(f"{host.base_url}/api/start/chaining", json={"city": "Quito"}) as r:
        assert r.status == 202
        body = await r.json()
    # The SDK's create_check_status_response includes rewindPostUri and uses the request's origin.
    assert "rewindPostUri" in body and body["statusQueryGetUri"].startswith(host.base_url + WEBHOOK)
    await host.wait_for(body["id"])
    async with http.get(body["statusQueryGetUri"]) as r:
        assert (await r.json())["output"] == ["Hello Quito!", "Hello Seattle!"]
    async with http.post(f"{host.base_url}/api/wait/chaining") as r:
        assert r.status == 200
        assert await r.json() == ["Hello Tokyo!", "Hello Seattle!"]


def test_binding_json_matches_the_extension() -> None:
    """Pinned against vector 10's binding (PROTOCOL.md §1.4), with the key in the system-key slots."""
    from devhost.http.binding import DurableUrls

    binding = DurableUrls(origin="http://localhost:7071", hub_name="TestHubName", system_key="SYSTEMKEY") \
        .client_binding()
    base = "http://localhost:7071/runtime/webhooks/durabletask"
    inst = f"{base}/instances/INSTANCEID"
    qs = "taskHub=TestHubName&connection=Storage&code=SYSTEMKEY"
    assert binding == {
        "taskHubName": "TestHubName",
        "connectionName": None,
        "creationUrls": {
            "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
            "?code=SYSTEMKEY",
            "createAndWaitOnNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
            "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=SYSTEMKEY",
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{inst}?{qs}",
            "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{qs}",
            "terminatePostUri": f"{inst}/terminate?reason={{text}}&{qs}",
            "rewindPostUri": f"{inst}/rewind?reason={{text}}&{qs}",
            "purgeHistoryDeleteUri": f"{inst}?{qs}",
            "restartPostUri": f"{inst}/restart?{qs}",
            "suspendPostUri": f"{inst}/suspend?reason={{text}}&{qs}",
            "resumePostUri": f"{inst}/resume?reason={{text}}&{qs}",
        },
        "baseUrl": base,
        "requiredQueryStringParameters": "code=SYSTEMKEY",
        "rpcBaseUrl": "http://localhost:7071/durabletask/",  # same port as the front, trailing slash kept
        "httpBaseUrl": None,
    }
    keyless = DurableUrls(origin="http://127.0.0.1:1", hub_name="H1x", connection="Other").client_binding()
    assert keyless["requiredQueryStringParameters"] == ""
    management = keyless["managementUrls"]
    assert isinstance(management, dict)
    assert management["statusQueryGetUri"].endswith("?taskHub=H1x&connection=Other")
