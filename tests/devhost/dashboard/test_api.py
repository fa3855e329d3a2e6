"""The dashboard's JSON API on a real devhost (in-process, real HTTP, in-memory hub): the list's order,
filters and counts, one instance with its history and waterfall, and the rules every action obeys."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.config import HostConfig
from devhost.http.host import DevHost
from devhost.http.keys import HostKeys
from devhost.http.testing import DurableTestHost, durable_host
from devhost.loader import load_app
from devhost.store.memory import MemoryStore
from tests.devhost.host.apps import write_app

APP = textwrap.dedent(
    '''
    import datetime as dt

    import azure.durable_functions as df
    import azure.functions as func

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    ATTEMPTS = {}


    @app.orchestration_trigger(context_name="context")
    def parent(context):
        result = yield context.call_sub_orchestrator("child", context.get_input(),
                                                     context.instance_id + ":child")
        return {"child": result, "html": "<script>alert(1)</script>"}


    @app.orchestration_trigger(context_name="context")
    def child(context):
        for attempt in range(3):
            try:
                return (yield context.call_activity("flaky", context.instance_id))
            except Exception:
                yield context.create_timer(context.current_utc_datetime + dt.timedelta(milliseconds=200))
        return "gave up"


    @app.orchestration_trigger(context_name="context")
    def waiter(context):
        value = yield context.wait_for_external_event("Go")
        return value


    @app.activity_trigger(input_name="key")
    def flaky(key: str) -> str:
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        if ATTEMPTS[key] < 3:
            raise RuntimeError("supplier answered 503")
        return "booked"
    '''
)


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[DurableTestHost]:
    module, _ = load_app(write_app(tmp_path / "dash_app", APP), {})
    async with durable_host(module) as running:
        yield running


@pytest.fixture
async def http(host: DurableTestHost) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=host.base_url + "/_devhost/api", timeout=30) as client:
        yield client


def _origin(host: DurableTestHost) -> dict[str, str]:
    return {"Origin": host.base_url, "Content-Type": "application/json"}


async def _start(host: DurableTestHost, name: str, instance_id: str, value: Any = None) -> str:
    client = host.host.client
    assert client is not None
    import json

    return await client.start(name, instance_id, json.dumps(value))


async def test_list_is_newest_first_with_counts_and_filters(
    host: DurableTestHost, http: httpx.AsyncClient
) -> None:
    await _start(host, "waiter", "w-1")
    await asyncio.sleep(0.01)
    await _start(host, "parent", "p-1", {"n": 1})
    await host.wait_for("p-1")
    await asyncio.sleep(0.01)
    await _start(host, "waiter", "w-2")
    for iid in ("w-1", "w-2"):
        for _ in range(200):
            record = await host.status(iid)
            if record is not None and record.runtime_status.name == "Running":
                break
            await asyncio.sleep(0.02)

    body = (await http.get("/instances")).json()
    ids = [i["instanceId"] for i in body["instances"]]
    assert ids == ["w-2", "p-1:child", "p-1", "w-1"]
    assert body["total"] == 4
    assert body["counts"]["Running"] == 2 and body["counts"]["Completed"] == 2
    assert body["eligible"] == {"terminate": 2, "purge": 2}

    done = (await http.get("/instances", params={"status": "Completed"})).json()
    assert [i["instanceId"] for i in done["instances"]] == ["p-1:child", "p-1"]
    assert done["counts"]["Running"] == 2  # counts stay per status under the other filters
    named = (await http.get("/instances", params={"name": "WAIT"})).json()
    assert [i["instanceId"] for i in named["instances"]] == ["w-2", "w-1"]
    prefixed = (await http.get("/instances", params={"prefix": "p-1"})).json()
    assert {i["instanceId"] for i in prefixed["instances"]} == {"p-1", "p-1:child"}
    second = (await http.get("/instances", params={"pageSize": 3, "page": 2})).json()
    assert [i["instanceId"] for i in second["instances"]] == ["w-1"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "Done"}, "unknown runtime status 'Done' in 'status'"),
        ({"from": "yesterday"}, "'from' must be an ISO 8601 time"),
        ({"from": "2026-12-05T00:00:00Z", "to": "2026-12-04T00:00:00Z"}, "'from' is after 'to'"),
        ({"page": "0"}, "'page' must be from 1"),
        ({"pageSize": "ten"}, "'pageSize' must be a whole number"),
    ],
)
async def test_bad_filters_are_400_with_the_parameter_named(
    http: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await http.get("/instances", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_one_instance_has_history_children_and_a_waterfall_with_every_attempt(
    host: DurableTestHost, http: httpx.AsyncClient
) -> None:
    await _start(host, "parent", "p-2", {"n": 2})
    await host.wait_for("p-2")
    parent = (await http.get("/instances/p-2")).json()
    assert parent["instance"]["runtimeStatus"] == "Completed"
    assert "<script>" in parent["instance"]["output"]  # stored text as it is; the page shows it as text
    assert parent["children"] == [{"instanceId": "p-2:child", "name": "child"}]
    assert parent["waterfall"][0]["kind"] == "suborchestration"
    assert parent["waterfall"][0]["instance_id"] == "p-2:child"

    child = (await http.get("/instances/p-2:child")).json()
    assert child["instance"]["parentInstanceId"] == "p-2"
    spans = [(s["kind"], s["outcome"], s["attempt"]) for s in child["waterfall"]]
    assert spans == [
        ("activity", "failed", 1), ("timer", "fired", 1),
        ("activity", "failed", 2), ("timer", "fired", 2),
        ("activity", "completed", 3),
    ]
    assert "supplier answered 503" in child["waterfall"][0]["detail"]
    types = [row["eventType"] for row in child["history"]]
    assert types[0] == "OrchestratorStarted" and "TaskFailed" in types and "TimerFired" in types


async def test_unknown_and_malformed_ids_are_precise(http: httpx.AsyncClient) -> None:
    missing = await http.get("/instances/nope")
    assert missing.status_code == 404
    assert "no instance 'nope'" in missing.json()["error"]
    bad = await http.get("/instances/%40x")
    assert bad.status_code == 400
    assert "must not start with @" in bad.json()["error"]
    assert (await http.get("/nothing")).status_code == 404


async def test_actions_need_post_from_the_same_origin_with_json(
    host: DurableTestHost, http: httpx.AsyncClient
) -> None:
    await _start(host, "waiter", "w-3")
    assert (await http.get("/instances/w-3/terminate")).status_code == 405
    no_origin = await http.post("/instances/w-3/terminate", json={})
    assert no_origin.status_code == 403 and "Origin" in no_origin.json()["error"]
    foreign = await http.post("/instances/w-3/terminate", json={}, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and "own origin" in foreign.json()["error"]
    cross_site = await http.post("/instances/w-3/terminate", json={},
                                 headers={"Origin": host.base_url, "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    form_headers = {"Origin": host.base_url, "Content-Type": "application/x-www-form-urlencoded"}
    form = await http.post("/instances/w-3/terminate", content=b"reason=x", headers=form_headers)
    assert form.status_code == 415
    broken = await http.post("/instances/w-3/terminate", content=b"{nope", headers=_origin(host))
    assert broken.status_code == 400 and "not JSON" in broken.json()["error"]
    bad_event = await http.post("/instances/w-3/events/%20", content=b"1", headers=_origin(host))
    assert bad_event.status_code == 400 and "event name is empty" in bad_event.json()["error"]
    still = await host.status("w-3")
    assert still is not None and still.runtime_status.name in ("Pending", "Running")

    raised = await http.post("/instances/w-3/events/Go", content=b'{"ok": true}', headers=_origin(host))
    assert raised.status_code == 202
    record = await host.wait_for("w-3")
    assert record.runtime_status.name == "Completed" and record.output == '{"ok":true}'
    again = await http.post("/instances/w-3/terminate", content=b"{}", headers=_origin(host))
    assert again.status_code == 409 and "Completed" in again.json()["error"]


async def test_terminate_purge_and_bulk_purge(host: DurableTestHost, http: httpx.AsyncClient) -> None:
    await _start(host, "waiter", "w-4")
    early = await http.post("/instances/w-4/purge", content=b"{}", headers=_origin(host))
    assert early.status_code == 409 and "only finished instances" in early.json()["error"]
    own = {"Origin": host.base_url}
    ended = await http.post("/instances/w-4/terminate", json={"reason": "test"}, headers=own)
    assert ended.status_code == 202
    assert (await host.wait_for("w-4")).runtime_status.name == "Terminated"
    purged = await http.post("/instances/w-4/purge", json={}, headers={"Origin": host.base_url})
    assert purged.json() == {"purged": 1}
    assert (await http.get("/instances/w-4")).status_code == 404

    await _start(host, "parent", "p-3")
    await host.wait_for("p-3")
    await _start(host, "waiter", "w-5")
    bulk = await http.post("/bulk/purge", params={"status": "Completed"}, json={}, headers=own)
    assert bulk.json() == {"purged": 2}
    left = (await http.get("/instances")).json()
    assert [i["instanceId"] for i in left["instances"]] == ["w-5"]
    stopped = await http.post("/bulk/terminate", json={}, headers={"Origin": host.base_url})
    assert stopped.json() == {"terminated": 1}


async def test_with_auth_the_api_needs_the_master_key(tmp_path: Path) -> None:
    from devhost.app_index import index_app

    module, _ = load_app(write_app(tmp_path / "dash_app", APP), {})
    keys = HostKeys(master="m-key", function_keys={"default": "f-key"}, per_function={},
                    system_keys={"durabletask_extension": "s-key"})
    host = DevHost(index=index_app(module), config=HostConfig(), store=MemoryStore(), app_root=tmp_path,
                   keys=keys)
    await host.start()
    try:
        async with httpx.AsyncClient(base_url=host.base_url + "/_devhost", timeout=30) as http:
            assert (await http.get("/")).status_code == 200  # the page itself holds no data
            for key in (None, "f-key", "s-key"):
                headers = {"x-functions-key": key} if key else {}
                denied = await http.get("/api/instances", headers=headers)
                assert denied.status_code == 401 and "instances" not in denied.text
            allowed = await http.get("/api/instances", headers={"x-functions-key": "m-key"})
            assert allowed.status_code == 200 and allowed.json()["total"] == 0
    finally:
        await host.stop()


async def test_pages_are_served_from_the_package_with_a_strict_policy(host: DurableTestHost) -> None:
    base = host.base_url + "/_devhost"
    async with httpx.AsyncClient(timeout=30) as plain:
        page = await plain.get(base + "/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert (await plain.get(base + "/static/dashboard.js")).status_code == 200
        assert (await plain.get(base + "/static/..%2Fapi.py")).status_code == 404
        assert (await plain.get(base + "/static/missing.js")).status_code == 404


async def test_a_watched_list_shows_new_instances_within_a_few_refreshes(
    host: DurableTestHost, http: httpx.AsyncClient
) -> None:
    first = (await http.get("/instances")).json()
    assert first["total"] == 0 and first["asOf"]
    await _start(host, "waiter", "w-6")
    seen: list[str] = []
    for _ in range(100):  # the page refreshes every 2 s; here faster, until the next scan shows it
        seen = [i["instanceId"] for i in (await http.get("/instances")).json()["instances"]]
        if seen:
            break
        await asyncio.sleep(0.1)
    assert seen == ["w-6"]
