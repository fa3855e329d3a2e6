"""devhost's Distributed Tracing (V2) spans (PROTOCOL.md §35), exported to an in-memory exporter by a real
devhost serving a real app, on the in-memory and the Azure Storage (Azurite) task hub.

A client request with a `traceparent` starts an orchestration that calls an activity twice, waits for an
event, then calls a sub-orchestration: every span devhost exports is in the client's trace, each one's parent
is the client's span or a span devhost exported (the chain is whole), the ids are the ones devhost handed to
functions and wrote into the history, and each span is exported once although the orchestration replays on
every episode — also across a devhost restart on Azurite.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from devhost import spans
from devhost.app_index import index_app
from devhost.config import HostConfig, load_host_config
from devhost.history import EventType
from devhost.http.host import DevHost
from devhost.http.testing import DurableTestHost
from devhost.loader import load_app
from devhost.store.base import TaskHubStore
from devhost.store.memory import MemoryStore
from tests.devhost.host.apps import TRACE_APP, write_app
from tests.devhost.test_tracing import SPAN, TRACE, VALID
from tests.support.azurite import azurite  # noqa: F401  (session fixture)

WEBHOOK = "/runtime/webhooks/durabletask"



class Collecting(SpanExporter):
    """Keeps every span exported to it; outlives the hosts that export to it (shutdown keeps nothing)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@pytest.fixture
def exported() -> Iterator[Collecting]:
    collecting = Collecting()
    spans.export_to(collecting)
    yield collecting
    spans.export_to(None)


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
def hub(request: pytest.FixtureRequest) -> Any:
    """A factory of stores on one task hub: several hosts in a row see the same instances."""
    if request.param == "memory":
        memory = MemoryStore()
        return lambda: memory
    from devhost.store.azure import create_store

    connection = request.getfixturevalue("azurite").connection_string
    name = "Spans" + uuid.uuid4().hex[:12]
    return lambda: create_store(connection, hub_name=name, max_polling_interval=0.5)


@asynccontextmanager
async def serving(root: Path, store: TaskHubStore, *, tracing: bool) -> AsyncIterator[DurableTestHost]:
    module, _ = load_app(root, {})
    config = HostConfig(hub_name="SpansHub", max_queue_polling_interval=0.5, distributed_tracing=tracing)
    host = DevHost(index=index_app(module), config=config, store=store, app_root=root)
    await host.start()
    try:
        yield DurableTestHost(host)
    finally:
        await host.stop()


async def _start(base_url: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(
        f"{base_url}/api/start?then=wait", headers={"traceparent": VALID}
    ) as r:
        assert r.status == 200, await r.text()
        return await r.text()


async def _raise_go(base_url: str, iid: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        f"{base_url}{WEBHOOK}/instances/{iid}/raiseEvent/go", json="x"
    ) as r:
        assert r.status == 202, await r.text()


async def _history(host: DurableTestHost, iid: str) -> list[dict[str, Any]]:
    return [dict(e) for e in await host.store.get_history(iid)]


async def _until_waiting(host: DurableTestHost, iid: str) -> None:
    """Until both activities completed (the orchestration then waits for `go`)."""
    for _ in range(600):
        if sum(e["EventType"] == EventType.TaskCompleted for e in await _history(host, iid)) == 2:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the activities never completed")


def _hex(span_id: int) -> str:
    return f"{span_id:016x}"


def _started_context(history: list[dict[str, Any]]) -> dict[str, Any]:
    started = next(e for e in history if e["EventType"] == EventType.ExecutionStarted)
    return dict(started["ParentTraceContext"])


def _check_chain(exported: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    """Every span in the client's trace, ids unique, each parent the client's span or an exported span."""
    by_id = {_hex(s.context.span_id): s for s in exported}
    assert len(by_id) == len(exported), "a span was exported twice"
    assert {f"{s.context.trace_id:032x}" for s in exported} == {TRACE}
    for s in exported:
        assert s.parent is not None, s.name
        assert _hex(s.parent.span_id) in by_id or _hex(s.parent.span_id) == SPAN, s.name
    roots = [s for s in exported if s.parent is not None and _hex(s.parent.span_id) == SPAN]
    assert [s.name for s in roots] == ["POST /api/start"]
    return by_id


def _named(exported: list[ReadableSpan], name: str, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in exported if s.name == name and s.kind == kind]


async def test_a_booking_like_instance_is_one_whole_chain_of_spans_each_exported_once(
    tmp_path: Path, hub: Any, exported: Collecting
) -> None:
    root = write_app(tmp_path / "spans_app", TRACE_APP)
    # Two hosts in a row on one task hub: the second finishes what the first began (a restart).
    async with serving(root, hub(), tracing=True) as first:
        iid = await _start(first.base_url)
        await _until_waiting(first, iid)
        stamped = _started_context(await _history(first, iid))
    async with serving(root, hub(), tracing=True) as second:
        await _raise_go(second.base_url, iid)
        done = await second.wait_for(iid, timeout=30)
        assert done.runtime_status.name == "Completed", done.output
        history = await _history(second, iid)
        created = next(e for e in history if e["EventType"] == EventType.SubOrchestrationInstanceCreated)
        child_history = await _history(second, created["InstanceId"])

    by_id = _check_chain(exported.spans)
    got = exported.spans
    # The orchestration span: once, with the id and start the first episode stored (DTFx's Id/SpanId).
    assert _started_context(history) == stamped
    assert stamped["Id"] == f"00-{TRACE}-{stamped['SpanId']}-01" and stamped["ActivityStartTime"]
    (orchestration,) = _named(got, "orchestration:parent", SpanKind.SERVER)
    assert _hex(orchestration.context.span_id) == stamped["SpanId"]
    assert dict(orchestration.attributes or {}) == {
        "durabletask.type": "orchestration", "durabletask.task.name": "parent",
        "durabletask.task.instance_id": iid, "durabletask.task.status": "Completed",
    }
    # ... under the client's create span, whose id is the stored TraceParent, under the HTTP request's.
    create_id = stamped["TraceParent"][36:52]
    create = by_id[create_id]
    assert (create.name, create.kind) == ("create_orchestration:parent", SpanKind.PRODUCER)
    assert orchestration.parent is not None and _hex(orchestration.parent.span_id) == create_id
    assert create.parent is not None and by_id[_hex(create.parent.span_id)].name == "POST /api/start"
    started = next(e for e in history if e["EventType"] == EventType.ExecutionStarted)
    execution = started["OrchestrationInstance"]
    assert dict(create.attributes or {}) == {
        "durabletask.type": "orchestration", "durabletask.task.name": "parent",
        "durabletask.task.instance_id": iid, "durabletask.task.execution_id": execution["ExecutionId"],
    }

    # Each activity: a client span (the TaskScheduled's id) under its orchestration, and a server span,
    # the id the function got as its trace context, under that.
    first_out, second_out, nested_out = json.loads(done.output or "null")
    scheduled = [e for e in history + child_history if e["EventType"] == EventType.TaskScheduled]
    servers = _named(got, "activity:seen", SpanKind.SERVER)
    clients = _named(got, "activity:seen", SpanKind.CLIENT)
    assert len(servers) == len(clients) == len(scheduled) == 3
    handed = {t[36:52] for t in (first_out, second_out, nested_out)}  # what each invocation was given
    assert {_hex(s.context.span_id) for s in servers} == handed
    assert {_hex(s.context.span_id) for s in clients} == {
        e["ParentTraceContext"]["TraceParent"][36:52] for e in scheduled
    }
    for server in servers:
        assert server.parent is not None
        client = by_id[_hex(server.parent.span_id)]
        assert client.kind == SpanKind.CLIENT and client.name == "activity:seen"
        assert dict(server.attributes or {})["durabletask.task.task_id"] == dict(client.attributes or {})[
            "durabletask.task.task_id"]
    assert {by_id[_hex(c.parent.span_id)].name for c in clients if c.parent} == {
        "orchestration:parent", "orchestration:child"}

    # The sub-orchestration: a client span (ClientSpanId) under the parent, the child's own span under it.
    (child_client,) = _named(got, "orchestration:child", SpanKind.CLIENT)
    (child_server,) = _named(got, "orchestration:child", SpanKind.SERVER)
    assert _hex(child_client.context.span_id) == created["ClientSpanId"]
    assert child_server.parent is not None and _hex(child_server.parent.span_id) == created["ClientSpanId"]
    assert child_client.parent is not None and child_client.parent.span_id == orchestration.context.span_id
    assert sorted(s.name for s in got) == sorted(
        ["POST /api/start", "create_orchestration:parent", "orchestration:parent", "orchestration:child",
         "orchestration:child", *["activity:seen"] * 6]
    )


async def test_tracing_off_in_host_json_exports_nothing_and_stores_no_span_id(
    tmp_path: Path, exported: Collecting
) -> None:
    root = write_app(tmp_path / "spans_off", TRACE_APP)
    async with serving(root, MemoryStore(), tracing=False) as host:
        assert not spans.active()  # an exporter is at hand (the fixture's), but host.json says no
        iid = await _start(host.base_url)
        await _raise_go(host.base_url, iid)
        done = await host.wait_for(iid, timeout=30)
        assert done.runtime_status.name == "Completed", done.output
        stored = _started_context(await _history(host, iid))
    assert exported.spans == []
    assert stored["TraceParent"] and stored["SpanId"] is None and stored["Id"] is None


def test_host_json_turns_spans_on_only_for_distributed_tracing_v2(tmp_path: Path) -> None:
    def config(tracing: dict[str, Any]) -> HostConfig:
        body = {"version": "2.0", "extensions": {"durableTask": {"tracing": tracing}}}
        (tmp_path / "host.json").write_text(json.dumps(body))
        return load_host_config(tmp_path, {})

    assert config({"distributedTracingEnabled": True, "version": "V2"}).distributed_tracing
    assert config({"DistributedTracingEnabled": "true", "Version": "v2"}).distributed_tracing
    assert not config({"distributedTracingEnabled": True, "version": "V1"}).distributed_tracing
    assert not config({"distributedTracingEnabled": True}).distributed_tracing
    assert not config({"distributedTracingEnabled": False, "version": "V2"}).distributed_tracing


def test_the_environment_chooses_the_exporter_and_none_costs_nothing() -> None:
    assert spans.exporter_from({}) is None
    assert spans.exporter_from({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) \
        is None
    assert spans.exporter_from({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}) is None
    assert type(spans.exporter_from({"OTEL_TRACES_EXPORTER": "console"})).__name__ == "ConsoleSpanExporter"
    assert type(spans.exporter_from({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})).__name__ == (
        "OTLPSpanExporter")
    assert not spans.start(True, {}) and not spans.active()
    assert spans.span_name("activity", "seen") == "activity:seen"
    assert spans.span_name("orchestration", "o", "1.0") == "orchestration:o@(1.0)"
