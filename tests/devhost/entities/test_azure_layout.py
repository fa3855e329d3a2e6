"""Entities in the Azure Storage task hub as DurableTask.AzureStorage + the extension store them
(PROTOCOL.md §37): the entity's Instances row holds the scheduler state as Input, the caller's History holds
EventSent rows to the scheduler id and EventRaised rows with the responses."""

from __future__ import annotations

import json
import uuid

import pytest
from azure.data.tables.aio import TableClient

from devhost.store.azure import create_store
from devhost.store.azure.keys import escape_partition_key
from devhost.testing import AsyncDurableHarness
from tests.devhost.entities import entity_app
from tests.support.azurite import Azurite

pytestmark = pytest.mark.azurite


async def test_entity_rows(azurite: Azurite) -> None:
    hub = "Lay" + uuid.uuid4().hex[:12]
    store = create_store(azurite.connection_string, hub_name=hub, max_polling_interval=0.5)
    await store.open()
    h = AsyncDurableHarness(entity_app.app, store=store)
    try:
        caller = await h.start_new("add_and_get", "rows", instance_id="caller")
        assert (await h.wait_for_completion(caller)).output == [3, 7]
    finally:
        h.close()
        await store.close()
    conn = azurite.connection_string
    async with TableClient.from_connection_string(conn, f"{hub}Instances") as t:
        row = await t.get_entity(escape_partition_key("@counter@rows"), "")
    assert row["Name"] == "@counter@rows" and row["RuntimeStatus"] == "Running"
    assert json.loads(row["Input"]) == {"exists": True, "state": "7", "sorter": {}}
    assert json.loads(row["CustomStatus"]) == {"entityExists": True}
    async with TableClient.from_connection_string(conn, f"{hub}History") as t:
        rows = [
            dict(e)
            async for e in t.query_entities(
                "PartitionKey eq @pk", parameters={"pk": escape_partition_key(caller)}
            )
        ]
    sent = sorted((r for r in rows if r.get("EventType") == "EventSent"), key=lambda r: r["EventId"])
    assert [(r["EventId"], r["InstanceId"], r["Name"]) for r in sent] == [
        (i, "@counter@rows", "op") for i in range(4)
    ]
    raised = [r for r in rows if r.get("EventType") == "EventRaised"]
    assert sorted(json.loads(r["Input"])["result"] for r in raised) == ["3", "7", "null"]
