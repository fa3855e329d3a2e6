"""Deleting and purging entities (PROTOCOL.md §37): an entity whose state was deleted is neither readable nor
listed, and purging its instance id `@name@key` removes it whatever its runtime status, as the extension's
purge-by-id does; a purged entity starts afresh on its next operation."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import aiohttp
import azure.durable_functions as df

from devhost.http.testing import DurableTestHost
from devhost.testing import AsyncDurableHarness
from tests.devhost.entities.test_http import WEBHOOK, client_for, eventually


async def _listed_keys(host: DurableTestHost, name: str) -> list[str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base_url}{WEBHOOK}/entities/{name}") as r:
            assert r.status == 200
            return sorted(e["entityId"]["key"] for e in await r.json())


async def _until_missing(host: DurableTestHost, name: str, key: str) -> df.EntityStateResponse:
    client = client_for(host)
    for _ in range(500):
        response = await client.read_entity_state(df.EntityId(name, key))
        if not response.entity_exists:
            return response
        await asyncio.sleep(0.02)
    raise AssertionError(f"entity {name}/{key} still exists")


async def test_deleted_entity_unreadable_unlisted_until_purged(host: DurableTestHost) -> None:
    client = client_for(host)
    await client.signal_entity(df.EntityId("Counter", "del"), "add", 4)
    await client.signal_entity(df.EntityId("Counter", "keep"), "add", 1)
    await eventually(host, "Counter", "del", 4)
    await eventually(host, "Counter", "keep", 1)
    await client.signal_entity(df.EntityId("Counter", "del"), "delete")
    gone = await _until_missing(host, "Counter", "del")
    assert (gone.entity_exists, gone.entity_state) == (False, None)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base_url}{WEBHOOK}/entities/Counter/del") as r:
            assert (r.status, await r.read()) == (404, b"")
    assert await _listed_keys(host, "Counter") == ["keep"]
    # The scheduler instance itself is still there (no implicit deletion on Azure Storage): Running, with
    # the EntityStatus of a deleted entity as its custom status.
    status = await client.get_status("@counter@del")
    assert status.runtime_status == df.OrchestrationRuntimeStatus.Running
    assert status.custom_status == {}
    # Purging the empty entity removes its instance.
    assert (await client.purge_instance_history("@counter@del")).instances_deleted == 1
    assert (await client.get_status("@counter@del")).runtime_status is None


async def test_purging_a_live_entity_removes_it_and_it_starts_again_empty(host: DurableTestHost) -> None:
    client = client_for(host)
    counter = df.EntityId("Counter", "purged")
    await client.signal_entity(counter, "add", 5)
    await eventually(host, "Counter", "purged", 5)
    # The entity's instance is Running; the extension's purge by id does not look at the status
    # (HttpApiHandler.HandleDeleteHistoryByIdRequestAsync, AzureTableTrackingStore.PurgeInstanceHistoryAsync).
    result = await client.purge_instance_history("@counter@purged")
    assert result.instances_deleted == 1
    await _until_missing(host, "Counter", "purged")
    assert "purged" not in await _listed_keys(host, "Counter")
    # Purged once more: nothing there any more, the API answers 404, which the SDK reads as 0 deleted.
    assert (await client.purge_instance_history("@counter@purged")).instances_deleted == 0
    # The next operation finds no state: the entity starts from its initial state.
    await client.signal_entity(counter, "add", 2)
    await eventually(host, "Counter", "purged", 2)
    assert "purged" in await _listed_keys(host, "Counter")


async def test_purge_by_filter_takes_entities_unless_it_names_a_terminal_status(
    host: DurableTestHost,
) -> None:
    client = client_for(host)
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    await client.signal_entity(df.EntityId("Counter", "f"), "add", 3)
    await eventually(host, "Counter", "f", 3)
    instance_id = await client.start_new("add_and_get", None, "g")
    await host.wait_for(instance_id)
    # With a terminal status the filter keeps to it: the finished orchestration goes, the entities stay.
    done = [df.OrchestrationRuntimeStatus.Completed]
    assert (
        await client.purge_instance_history_by(created_time_from=since, runtime_status=done)
    ).instances_deleted == 1
    assert (await client.get_status(instance_id)).runtime_status is None
    await eventually(host, "Counter", "g", 7)
    # Without one (or with only Running) the tracking store filters on nothing but the created time
    # (AzureTableTrackingStore.PurgeInstanceHistoryAsync): the entities, Running instances, go too.
    assert (await client.purge_instance_history_by(created_time_from=since)).instances_deleted == 2
    await _until_missing(host, "Counter", "f")
    await _until_missing(host, "Counter", "g")
    await client.signal_entity(df.EntityId("Counter", "f"), "add", 1)
    await eventually(host, "Counter", "f", 1)
    running = [df.OrchestrationRuntimeStatus.Running]
    assert (
        await client.purge_instance_history_by(created_time_from=since, runtime_status=running)
    ).instances_deleted == 1
    await _until_missing(host, "Counter", "f")


async def test_a_signal_queued_before_the_purge_still_runs(harness: AsyncDurableHarness) -> None:
    # Purge deletes the instance's rows and blobs, not its queued messages; DurableTask.AzureStorage then
    # starts the entity afresh for the next one (IsExecutableInstance lets an entity message start it).
    await harness.client.signal_entity("Counter", "queued", "add", json.dumps("1"))
    await harness.run_until_idle()
    assert await harness.client.read_entity_state("Counter", "queued") == (True, "1")
    await harness.client.signal_entity("Counter", "queued", "add", json.dumps("5"))
    assert await harness.store.purge_instance("@counter@queued") == 1
    await harness.run_until_idle()
    assert await harness.client.read_entity_state("Counter", "queued") == (True, "5")
