"""ENGINE's worker loop on the Azure Storage store: orchestrations with activities, a timer, a fan-out and a
sub-orchestration complete, and the History table holds exactly the DTFx event sequence."""

import asyncio
import datetime as dt
import json

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


async def test_journeys_complete_with_exact_history(azure_store: AzureStorageStore) -> None:
    clock = SystemClock()
    engine = Engine(INDEX, azure_store, clock, lock_for=dt.timedelta(seconds=30))
    client = DurableClient(azure_store, INDEX, clock, hub_name=azure_store.hub)
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop, poll_interval=0.5))
    try:
        # The body is what the Python client sends: the JSON text of df_dumps(input).
        ids = [await client.start("journey", f"j{i}", json.dumps(json.dumps(f"t{i}"))) for i in range(3)]

        async def finished() -> None:
            while True:
                records = [await azure_store.get_instance(i) for i in ids]
                if all(r is not None and r.runtime_status in TERMINAL_STATUSES for r in records):
                    return
                await asyncio.sleep(0.2)

        await asyncio.wait_for(finished(), 60)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 30)
        engine.close()
    for i, iid in enumerate(ids):
        record = await azure_store.get_instance(iid)
        assert record is not None and record.runtime_status is RuntimeStatus.Completed, record.output
        assert json.loads(record.output or "null") == function_app.expected(f"t{i}")
        assert_clean_history(await azure_store.get_history(iid))
        children, _ = await azure_store.query_instances(
            InstanceQuery(instance_id_prefix=record.execution_id + ":"),
            10,
            None,
        )
        assert [c.runtime_status for c in children] == [RuntimeStatus.Completed]
