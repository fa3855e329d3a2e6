"""Trace context through a served app (PROTOCOL.md §35): an HTTP function runs in a child of the caller's
trace; the management API's start records it as ExecutionStarted.ParentTraceContext; every activity and
sub-orchestration of the instance stays in that trace, on the in-memory and the Azure Storage task hub."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.history import EventType
from devhost.http.testing import DurableTestHost
from devhost.tracing import parse_traceparent
from tests.devhost.host.apps import TRACE_APP, serving, write_app
from tests.devhost.test_tracing import HOSTILE, SPAN, TRACE, VALID
from tests.support.azurite import azurite  # noqa: F401  (session fixture)

WEBHOOK = "/runtime/webhooks/durabletask"



@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
async def host(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DurableTestHost]:
    async with serving(request, write_app(tmp_path / "trace_app", TRACE_APP), "Trace") as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _ids(traceparent: str) -> tuple[str, str]:
    ctx = parse_traceparent(traceparent)
    assert ctx is not None, "devhost handed out an invalid traceparent"
    return ctx.trace_id, ctx.span_id


async def test_http_function_runs_in_a_child_of_the_callers_trace(
    http: aiohttp.ClientSession, host: DurableTestHost
) -> None:
    headers = {"traceparent": VALID, "tracestate": "congo=t61rcWkgMzE"}
    async with http.get(f"{host.base_url}/api/whoami", headers=headers) as r:
        assert r.status == 200
        seen = await r.json()
    assert _ids(seen["traceparent"])[0] == TRACE
    assert _ids(seen["traceparent"])[1] != SPAN
    assert seen["traceparent"].endswith("-01") and seen["tracestate"] == "congo=t61rcWkgMzE"


async def test_http_function_without_a_traceparent_gets_a_new_trace(
    http: aiohttp.ClientSession, host: DurableTestHost
) -> None:
    async with http.get(f"{host.base_url}/api/whoami") as r:
        first = (await r.json())["traceparent"]
    async with http.get(f"{host.base_url}/api/whoami") as r:
        second = (await r.json())["traceparent"]
    assert _ids(first)[0] != _ids(second)[0]


@pytest.mark.parametrize(
    "value", [v for v in HOSTILE.values() if v.isprintable() and v.isascii()],
    ids=[k for k, v in HOSTILE.items() if v.isprintable() and v.isascii()],
)
async def test_hostile_traceparent_never_fails_nor_echoes(
    http: aiohttp.ClientSession, host: DurableTestHost, value: str
) -> None:
    async with http.get(f"{host.base_url}/api/whoami", headers={"traceparent": value}) as r:
        assert r.status == 200
        text = await r.text()
        assert not value or (value not in text and all(value not in v for v in r.headers.values()))
        seen = await r.json()
    assert _ids(seen["traceparent"])[0] != TRACE and seen["tracestate"] == ""


async def test_two_traceparent_headers_start_a_new_trace(
    http: aiohttp.ClientSession, host: DurableTestHost
) -> None:
    headers = [("traceparent", VALID), ("traceparent", VALID)]
    async with http.get(f"{host.base_url}/api/whoami", headers=headers) as r:
        assert r.status == 200
        seen = await r.json()
    assert _ids(seen["traceparent"])[0] != TRACE


async def _history(host: DurableTestHost, iid: str) -> list[dict[str, Any]]:
    return [dict(e) for e in await host.store.get_history(iid)]


async def test_start_records_the_callers_trace_and_activities_stay_in_it(
    http: aiohttp.ClientSession, host: DurableTestHost
) -> None:
    async with http.post(f"{host.base_url}/api/start", headers={"traceparent": VALID}) as r:
        assert r.status == 200, await r.text()
        iid = await r.text()
    done = await host.wait_for(iid, timeout=30)
    assert done.runtime_status.name == "Completed", done.output

    history = await _history(host, iid)
    started = next(e for e in history if e["EventType"] == EventType.ExecutionStarted)
    recorded = started["ParentTraceContext"]
    # The starter's invocation is a child of VALID; the start request recorded a child of that.
    assert _ids(recorded["TraceParent"])[0] == TRACE
    assert set(recorded) == {"TraceParent", "TraceState", "Id", "SpanId", "ActivityStartTime"}

    scheduled = [e for e in history if e["EventType"] == EventType.TaskScheduled]
    assert len(scheduled) == 2
    scheduled_spans = {_ids(e["ParentTraceContext"]["TraceParent"])[1] for e in scheduled}
    assert {_ids(e["ParentTraceContext"]["TraceParent"])[0] for e in scheduled} == {TRACE}
    assert len(scheduled_spans) == 2 and _ids(recorded["TraceParent"])[1] not in scheduled_spans

    first, second, nested = json.loads(done.output or "null")
    invocation_spans = {_ids(first)[1], _ids(second)[1], _ids(nested)[1]}
    assert {_ids(first)[0], _ids(second)[0], _ids(nested)[0]} == {TRACE}
    assert len(invocation_spans) == 3 and not invocation_spans & scheduled_spans

    created = next(e for e in history if e["EventType"] == EventType.SubOrchestrationInstanceCreated)
    child = await _history(host, created["InstanceId"])
    child_started = next(e for e in child if e["EventType"] == EventType.ExecutionStarted)
    assert _ids(child_started["ParentTraceContext"]["TraceParent"]) == (TRACE, created["ClientSpanId"])


async def test_start_without_a_traceparent_records_a_new_trace(
    http: aiohttp.ClientSession, host: DurableTestHost
) -> None:
    url = f"{host.base_url}{WEBHOOK}/orchestrators/child"
    async with http.post(url, headers={"traceparent": "00-x"}) as r:
        assert r.status == 202
        iid = (await r.json())["id"]
    done = await host.wait_for(iid, timeout=30)
    history = await _history(host, iid)
    recorded = next(e for e in history if e["EventType"] == EventType.ExecutionStarted)["ParentTraceContext"]
    trace_id, _ = _ids(recorded["TraceParent"])
    assert "00-x" not in str(history)
    assert _ids(json.loads(done.output or "null"))[0] == trace_id
