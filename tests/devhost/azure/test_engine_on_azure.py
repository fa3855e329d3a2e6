"""The engine's worker loop on the Azure Storage store: orchestrations with activities, a timer, a fan-out
and a sub-orchestration complete, and the History table holds exactly the DTFx event sequence."""

import asyncio
import datetime as dt
import json
from typing import Any

from devhost.app_index import index_app
from devhost.clock import SystemClock
from devhost.engine.client import DurableClient
from devhost.engine.worker import Engine
from devhost.history import TERMINAL_STATUSES, RuntimeStatus
from devhost.store.azure import AzureStorageStore
from devhost.store.base import InstanceQuery
from tests.devhost.azure.crash_app import function_app
from tests.devhost.azure.history_checks import assert_clean_history

INDEX = index_app(function_app.app)


async def run_journeys(store: AzureStorageStore, ids_and_inputs: dict[str, str]) -> None:
    """Start a journey per instance id with the engine's worker loop running, until all have finished."""
    clock = SystemClock()
    engine = Engine(INDEX, store, clock, lock_for=dt.timedelta(seconds=30))
    client = DurableClient(store, INDEX, clock, hub_name=store.hub)
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop, poll_interval=0.5))
    try:
        for iid, value in ids_and_inputs.items():
            # The body is what the Python client sends: the JSON text of df_dumps(input).
            await client.start("journey", iid, json.dumps(json.dumps(value)))

        async def finished() -> None:
            while True:
                records = [await store.get_instance(i) for i in ids_and_inputs]
                if all(r is not None and r.runtime_status in TERMINAL_STATUSES for r in records):
                    return
                await asyncio.sleep(0.2)

        await asyncio.wait_for(finished(), 60)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 30)
        engine.close()


async def test_journeys_complete_with_exact_history(azure_store: AzureStorageStore) -> None:
    ids = [f"j{i}" for i in range(3)]
    await run_journeys(azure_store, {iid: f"t{i}" for i, iid in enumerate(ids)})
    for i, iid in enumerate(ids):
        record = await azure_store.get_instance(iid)
        assert record is not None
        assert record.runtime_status is RuntimeStatus.Completed, record.output
        assert json.loads(record.output or "null") == function_app.expected(f"t{i}")
        assert_clean_history(await azure_store.get_history(iid))
        children, _ = await azure_store.query_instances(
            InstanceQuery(instance_id_prefix=record.execution_id + ":"),
            10,
            None,
        )
        assert [c.runtime_status for c in children] == [RuntimeStatus.Completed]


async def test_history_rows_of_a_real_run_follow_the_dtfx_layout(
    azure_store: AzureStorageStore, azurite
) -> None:
    from azure.data.tables.aio import TableClient

    await run_journeys(azure_store, {"layout/1": "Oslo"})
    async with TableClient.from_connection_string(
        azurite.connection_string, f"{azure_store.hub}History"
    ) as t:
        rows = [e async for e in t.query_entities("PartitionKey eq @pk", parameters={"pk": "layout^01"})]
    by_type: dict[str, list[Any]] = {}
    for row in rows:
        if row["RowKey"] != "sentinel":
            assert len(row["RowKey"]) == 16 and row["RowKey"] == row["RowKey"].upper()
            by_type.setdefault(row["EventType"], []).append(row)
    assert {
        "TimerCreated",
        "TimerFired",
        "SubOrchestrationInstanceCreated",
        "TaskScheduled",
        "TaskCompleted",
        "SubOrchestrationInstanceCompleted",
        "ExecutionCompleted",
    } <= set(by_type)
    timer = by_type["TimerCreated"][0]
    assert isinstance(timer["FireAt"], dt.datetime) and timer["IsPlayed"] is False
    assert by_type["TimerFired"][0]["TimerId"] == timer["EventId"]
    # Completions are stored as played once persisted (PROTOCOL.md §2.2).
    assert all(r["IsPlayed"] is True for r in by_type["TaskCompleted"])
    sub = by_type["SubOrchestrationInstanceCreated"][0]
    assert sub["Name"] == "leg" and sub["InstanceId"].endswith(f":{sub['EventId']}")
    done = by_type["ExecutionCompleted"][0]
    assert done["OrchestrationStatus"] == "Completed"
    assert json.loads(done["Result"]) == function_app.expected("Oslo")
    events = [r for r in rows if r["RowKey"] != "sentinel"]
    assert all(isinstance(r["_Timestamp"], dt.datetime) and "Timestamp" not in r for r in events)


async def test_a_finished_instance_leaves_the_state_cache(azure_store: AzureStorageStore) -> None:
    # The cache keeps whole histories between episodes; a finished instance must not stay in it, or a host
    # that runs for days holds the histories of thousands of done instances.
    await run_journeys(azure_store, {"done/1": "Oslo", "done/2": "Lima"})
    await azure_store.flush()
    record = await azure_store.get_instance("done/1")
    assert record is not None and record.runtime_status is RuntimeStatus.Completed
    children, _ = await azure_store.query_instances(
        InstanceQuery(instance_id_prefix=record.execution_id + ":"), 10, None
    )
    assert children, "the journey has a sub-orchestration"
    cached = set(azure_store._cache)
    assert not cached & {"done/1", "done/2", *(c.instance_id for c in children)}
