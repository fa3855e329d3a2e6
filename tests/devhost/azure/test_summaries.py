"""The fast reader of Instances rows (devhost/store/azure/summaries.py) against the SDK's reader, on Azurite:
the same rows without payloads, whoever wrote them, with tokens that continue either reader's pages."""

from __future__ import annotations

import datetime as dt

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from devhost import history as h
from devhost.history import RuntimeStatus
from devhost.store.azure import AzureStorageStore, summaries
from devhost.store.azure.keys import HubNames
from devhost.store.base import InstanceQuery, InstanceRecord, OrchestrationMessage
from tests.support.azurite import Azurite

T0 = dt.datetime(2026, 12, 4, 6, 0, tzinfo=dt.UTC)
# Characters that the partition key escapes (KeySanitation), a quote for the OData literals, non-ASCII.
ODD_IDS = ["plain", "a/b#c?d\\e", "it's", "ünï-cödé", "caret^x"]


async def create(store: AzureStorageStore, record: InstanceRecord) -> None:
    start = h.execution_started(h.format_ts(record.created_time), instance_id=record.instance_id,
                                execution_id=record.execution_id, name=record.name, input_json=record.input)
    message = OrchestrationMessage(record.instance_id, start, execution_id=record.execution_id)
    await store.create_instance(record, message, replaceable=None)


async def every(store: AzureStorageStore, query: InstanceQuery, size: int = 2) -> list[InstanceRecord]:
    out: list[InstanceRecord] = []
    token: str | None = None
    while True:
        page, token = await store.query_instances(query, size, token)
        out += page
        if token is None:
            return sorted(out, key=lambda r: r.instance_id)


async def test_summaries_equal_the_full_rows_without_payloads(azure_store: AzureStorageStore) -> None:
    big = '"' + "x" * 70_000 + '"'  # over the 60 KB property limit: the row holds a blob URL
    for i, iid in enumerate(ODD_IDS):
        record = InstanceRecord(
            iid, "booking", f"x{i}", RuntimeStatus.Pending, T0 + dt.timedelta(seconds=i),
            T0 + dt.timedelta(seconds=i, milliseconds=1), input=big if i == 0 else '{"n": 1}',
            output='"<script>"' if i == 1 else None, custom_status='"cs"' if i == 2 else None,
            completed_time=T0 + dt.timedelta(minutes=1) if i == 1 else None, version="1.0",
            generation=i, parent_instance_id="parent" if i == 3 else None,
            tags={"k": "v"} if i == 4 else None, scheduled_start_time=T0 if i == 4 else None,
        )
        record.runtime_status = [RuntimeStatus.Pending, RuntimeStatus.Completed, RuntimeStatus.Running,
                                 RuntimeStatus.Failed, RuntimeStatus.Terminated][i]
        await create(azure_store, record)

    full = await every(azure_store, InstanceQuery())
    light = await every(azure_store, InstanceQuery(payloads=False))
    assert [r.instance_id for r in light] == sorted(ODD_IDS)
    assert light == [r.without_payloads() for r in full]
    assert full[0].input is not None and all(r.input is None for r in light)

    # Each filter gives the same instances through both readers.
    for query in (
        InstanceQuery(instance_id_prefix="a/b"),
        InstanceQuery(instance_id_prefix="it'"),
        InstanceQuery(created_from=T0 + dt.timedelta(seconds=1), created_to=T0 + dt.timedelta(seconds=3)),
        InstanceQuery(runtime_status=frozenset({RuntimeStatus.Completed, RuntimeStatus.Failed})),
    ):
        light_query = InstanceQuery(query.created_from, query.created_to, query.runtime_status,
                                    query.instance_id_prefix, payloads=False)
        expected = [r.without_payloads() for r in await every(azure_store, query)]
        assert expected and await every(azure_store, light_query) == expected, query


async def test_a_token_continues_either_reader(azure_store: AzureStorageStore) -> None:
    for i in range(5):
        await create(azure_store, InstanceRecord(f"t{i}", "o", "x", RuntimeStatus.Pending, T0, T0))
    first, token = await azure_store.query_instances(InstanceQuery(payloads=False), 2, None)
    second, token = await azure_store.query_instances(InstanceQuery(), 2, token)
    third, token = await azure_store.query_instances(InstanceQuery(payloads=False), 2, token)
    assert token is None
    assert [r.instance_id for r in first + second + third] == [f"t{i}" for i in range(5)]
    with pytest.raises(ValueError):
        await azure_store.query_instances(InstanceQuery(payloads=False), 2, "az:not-base64-json")


async def test_rows_written_by_the_real_runtime_read_as_summaries(
    azure_store: AzureStorageStore, azurite: Azurite, hub_name: str
) -> None:
    """A row as DTFx writes it (OrchestrationInstanceStatus): no ParentInstanceId column, CustomStatus
    "null", Generation an Int32; the same values through both readers."""
    table_name = HubNames.of(hub_name, partition_count=1).instances_table
    async with TableClient.from_connection_string(azurite.connection_string, table_name) as table:
        await table.create_entity({
            "PartitionKey": "dtfx-1", "RowKey": "", "Name": "Hello", "Version": "", "Input": '"in"',
            "Output": '"out"', "CustomStatus": "null", "CreatedTime": T0, "LastUpdatedTime": T0,
            "CompletedTime": T0 + dt.timedelta(seconds=2), "RuntimeStatus": "Completed",
            "ExecutionId": "e1", "Generation": 3, "TaskHubName": hub_name,
        })
        rows, token = await summaries.query_page(table, "RowKey eq ''", 10, None)
    assert token is None and rows[0]["Generation"] == 3 and "Input" not in rows[0]
    [light] = await every(azure_store, InstanceQuery(payloads=False))
    [full] = await every(azure_store, InstanceQuery())
    assert light == full.without_payloads()
    assert (light.instance_id, light.runtime_status, light.generation) == ("dtfx-1", RuntimeStatus.Completed,
                                                                           3)
    assert light.completed_time == T0 + dt.timedelta(seconds=2) and light.parent_instance_id is None


async def test_a_missing_table_is_not_found(azurite: Azurite) -> None:
    async with TableClient.from_connection_string(azurite.connection_string, "NoSuchTable0q14") as table:
        with pytest.raises(ResourceNotFoundError):
            await summaries.query_page(table, "RowKey eq ''", 10, None)
