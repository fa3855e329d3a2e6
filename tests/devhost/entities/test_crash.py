"""kill -9 while entity operations are queued (Azure Storage store on Azurite): after restarts every
operation has been applied exactly once — none lost, none applied twice — and every caller got its answers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from devhost.app_index import index_app
from devhost.engine.client import DurableClient
from devhost.history import RuntimeStatus
from devhost.store.azure import AzureStorageStore, create_store
from tests.devhost.azure.crash_worker import crash_worker
from tests.devhost.entities import entity_app
from tests.support.azurite import Azurite

REPO = Path(__file__).resolve().parents[3]
LOCK_SECONDS = 2  # a killed worker's messages come back after this lease
SIGNALS = 24
CALLERS = 3  # orchestrations, each appending three entries with call_entity

pytestmark = pytest.mark.azurite


def worker(azurite: Azurite, hub: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    app = "tests.devhost.entities.entity_app"
    return crash_worker(azurite, hub, app, LOCK_SECONDS, ENTITY_APP_OP_SECONDS="0.05")


async def entries(client: DurableClient) -> list[str]:
    exists, state = await client.read_entity_state("Log", "shared")
    return list(json.loads(state or "[]")) if exists else []


async def until(condition: Callable[[], object], timeout: float) -> None:
    async def loop() -> None:
        while not await condition():  # type: ignore[misc]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(loop(), timeout)


async def test_sigkill_while_entity_operations_are_queued(azurite: Azurite) -> None:
    store: AzureStorageStore = create_store(
        azurite.connection_string, hub_name="Crash" + uuid.uuid4().hex[:10], max_polling_interval=0.5
    )
    await store.open()
    try:
        client = DurableClient(store, index_app(entity_app.app), hub_name=store.hub)
        expected = [f"s{i}" for i in range(SIGNALS)] + [f"c{n}-{i}" for n in range(CALLERS) for i in range(3)]

        async def signal(first: int, last: int) -> None:
            for i in range(first, last):
                # What the SDK client sends: json.dumps(input) as a JSON body.
                await client.signal_entity("Log", "shared", "append", json.dumps(json.dumps(f"s{i}")))

        await signal(0, SIGNALS // 2)  # queued before any worker runs
        with worker(azurite, store.hub) as first:
            # The first batch takes every queued operation (~0.6 s of work): the kill lands in it or just
            # after its checkpoint, with its messages still in the queue either way.
            await asyncio.sleep(0.4)
            first.kill()

        await signal(SIGNALS // 2, SIGNALS)
        callers = [
            await client.start("appender", f"caller{n}", json.dumps(json.dumps(f"c{n}")))
            for n in range(CALLERS)
        ]
        with worker(azurite, store.hub) as second:

            async def some_applied() -> bool:
                return 0 < len(await entries(client)) < len(expected)

            await until(some_applied, 60)
            second.kill()  # the callers' operations are still to come

        with worker(azurite, store.hub):

            async def all_done() -> bool:
                records = [await store.get_instance(c) for c in callers]
                finished = all(r is not None and r.runtime_status is RuntimeStatus.Completed for r in records)
                return finished and len(await entries(client)) >= len(expected)

            await until(all_done, 120)
            # Leave time for any message of the killed workers to come back once more (after its lease):
            # it must be recognised, not applied again.
            await asyncio.sleep(2 * LOCK_SECONDS + 1)

        applied = await entries(client)
        assert sorted(applied) == sorted(expected)  # none lost, none applied twice
        # Client signals carry no sender, so nothing orders them across a crash: the killed worker's
        # messages come back after their lease, possibly behind newer ones. A caller's own operations
        # stay in order (each call waits for its answer).
        for n in range(CALLERS):
            assert [e for e in applied if e.startswith(f"c{n}-")] == [f"c{n}-{i}" for i in range(3)]
    finally:
        await store.close()
