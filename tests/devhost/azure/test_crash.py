"""Crash test: SIGKILL the worker process while activities and timers are in flight, twice, then start it
again: every instance completes with the output a clean run gives, and no history event is duplicated."""

import asyncio
import json
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

from devhost.app_index import index_app
from devhost.engine.client import DurableClient
from devhost.history import EventType, HistoryEvent, RuntimeStatus
from devhost.store.azure import AzureStorageStore
from devhost.store.base import InstanceQuery
from tests.devhost.azure.crash_app import function_app
from tests.devhost.azure.crash_worker import crash_worker
from tests.devhost.azure.history_checks import TASK_DONE, assert_clean_history, has, in_flight
from tests.support.azurite import Azurite

REPO = Path(__file__).resolve().parents[3]
LOCK_SECONDS = 2  # a killed worker's messages come back after this lease
INSTANCES = 6


def worker(azurite: Azurite, hub: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    app = "tests.devhost.azure.crash_app.function_app"
    return crash_worker(azurite, hub, app, LOCK_SECONDS, CRASH_APP_ACTIVITY_SECONDS="0.4")


async def histories(store: AzureStorageStore, ids: list[str]) -> dict[str, list[HistoryEvent]]:
    return {iid: await store.get_history(iid) for iid in ids}


async def wait_for(store: AzureStorageStore, ids: list[str], condition, timeout: float) -> None:  # noqa: ANN001
    async def loop() -> None:
        while not condition(await histories(store, ids)):
            await asyncio.sleep(0.1)

    await asyncio.wait_for(loop(), timeout)


async def test_sigkill_with_activities_and_timers_in_flight(
    azure_store: AzureStorageStore, azurite: Azurite
) -> None:
    client = DurableClient(azure_store, index_app(function_app.app), hub_name=azure_store.hub)
    names = [f"city{i}" for i in range(INSTANCES)]
    ids = [f"crash-{i}" for i in range(INSTANCES)]

    with worker(azurite, azure_store.hub) as first:
        for iid, name in zip(ids, names, strict=True):
            await client.start("journey", iid, json.dumps(json.dumps(name)))

        # Kill 1: every instance is waiting on its durable timer.
        def waiting_on_timer(hs: dict[str, list[HistoryEvent]]) -> bool:
            return all(in_flight(h, [EventType.TimerCreated], [EventType.TimerFired]) for h in hs.values())

        await wait_for(azure_store, ids, waiting_on_timer, 60)
        first.kill()

    with worker(azurite, azure_store.hub) as second:
        # Kill 2: after the timer, fan-out activities scheduled but not completed.
        def fan_out_running(hs: dict[str, list[HistoryEvent]]) -> bool:
            return any(
                in_flight(h, [EventType.TaskScheduled], TASK_DONE) and has(h, EventType.TimerFired)
                for h in hs.values()
            )

        await wait_for(azure_store, ids, fan_out_running, 60)
        second.kill()

    with worker(azurite, azure_store.hub):

        def all_done(hs: dict[str, list[HistoryEvent]]) -> bool:
            return all(has(h, EventType.ExecutionCompleted) for h in hs.values())

        await wait_for(azure_store, ids, all_done, 90)

    for iid, name in zip(ids, names, strict=True):
        record = await azure_store.get_instance(iid)
        assert record is not None and record.runtime_status is RuntimeStatus.Completed, (
            record and record.output
        )
        assert json.loads(record.output or "null") == function_app.expected(name)
        assert_clean_history(await azure_store.get_history(iid))
        children, _ = await azure_store.query_instances(
            InstanceQuery(instance_id_prefix=record.execution_id + ":"), 10, None
        )
        assert len(children) == 1 and children[0].runtime_status is RuntimeStatus.Completed
        assert_clean_history(await azure_store.get_history(children[0].instance_id))
