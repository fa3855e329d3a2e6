"""Table transactions written as bytes (devhost/store/azure/batch.py), against real Azurite: what they store
is what the SDK's own submit_transaction stores, they are atomic, and a refused one says which status."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.store.azure import batch
from devhost.store.azure.clients import HubClients
from tests.support.azurite import Azurite


@pytest.fixture
async def clients(azurite: Azurite) -> AsyncIterator[HubClients]:
    hub = HubClients.from_connection_string(azurite.connection_string)
    try:
        yield hub
    finally:
        await hub.close()


@pytest.fixture
async def table(clients: HubClients) -> TableClient:
    client = clients.tables.get_table_client("Batch" + uuid.uuid4().hex[:12])
    await client.create_table()
    return client


def row(pk: str, rk: str, n: int) -> dict[str, Any]:
    return {
        "PartitionKey": pk,
        "RowKey": rk,
        "Name": "book_flight — ✈ 'quoted'",
        "EventId": n,
        "IsPlayed": n % 2 == 0,
        "Ratio": 0.5 + n,
        "_Timestamp": dt.datetime(2026, 12, 4, 11, 0, n, 123456, tzinfo=dt.UTC),
        "Input": '{"a": [1, 2, "\\u00e9"]}' * 20,
    }


async def read_all(table: TableClient, pk: str) -> list[dict[str, Any]]:
    escaped = pk.replace("'", "''")
    return [dict(e) async for e in table.query_entities(f"PartitionKey eq '{escaped}'")]


async def test_a_transaction_stores_what_the_sdks_own_stores(table: TableClient) -> None:
    sdk_pk, lean_pk = "sdk@circuit@air'line:0", "lean@circuit@air'line:0"
    await table.submit_transaction(
        [("upsert", row(sdk_pk, f"{i:016X}", i), {"mode": UpdateMode.REPLACE}) for i in range(5)]
        + [("create", {"PartitionKey": sdk_pk, "RowKey": "sentinel", "Count": 5})]
    )
    etags = await batch.submit(
        table,
        [batch.Operation("upsert", row(lean_pk, f"{i:016X}", i)) for i in range(5)]
        + [batch.Operation("create", {"PartitionKey": lean_pk, "RowKey": "sentinel", "Count": 5})],
    )
    sdk, lean = await read_all(table, sdk_pk), await read_all(table, lean_pk)
    assert len(lean) == 6
    assert [{**e, "PartitionKey": ""} for e in lean] == [{**e, "PartitionKey": ""} for e in sdk]
    # Each ETag returned is the row's own, so the next conditional update can use it.
    stored = {e["RowKey"]: (await table.get_entity(lean_pk, e["RowKey"])).metadata["etag"] for e in lean}
    assert etags == [stored[f"{i:016X}"] for i in range(5)] + [stored["sentinel"]]


async def test_a_conditional_update_with_the_current_etag_lands_and_a_stale_one_writes_nothing(
    table: TableClient,
) -> None:
    pk = "instance-1"
    sentinel = {"PartitionKey": pk, "RowKey": "s", "N": 1}
    first = await batch.submit(table, [batch.Operation("create", sentinel)])
    second = await batch.submit(
        table,
        [
            batch.Operation("upsert", row(pk, "0000000000000000", 0)),
            batch.Operation("update", {"PartitionKey": pk, "RowKey": "s", "N": 2}, first[0]),
        ],
    )
    assert second[1] != first[0]
    with pytest.raises(batch.TransactionFailedError) as refused:
        await batch.submit(
            table,
            [
                batch.Operation("upsert", row(pk, "0000000000000001", 1)),
                batch.Operation("update", {"PartitionKey": pk, "RowKey": "s", "N": 3}, first[0]),
            ],
        )
    assert refused.value.status_code == 412
    rows = {e["RowKey"]: e for e in await read_all(table, pk)}
    assert set(rows) == {"0000000000000000", "s"}  # the refused transaction wrote nothing
    assert rows["s"]["N"] == 2
    # The SDK's own conditional update agrees on the ETag this module returned.
    await table.update_entity(
        {"PartitionKey": pk, "RowKey": "s", "N": 4},
        mode=UpdateMode.REPLACE,
        etag=second[1],
        match_condition=MatchConditions.IfNotModified,
    )


async def test_creating_a_row_that_exists_is_refused_with_409(table: TableClient) -> None:
    pk = "instance-2"
    await batch.submit(table, [batch.Operation("create", {"PartitionKey": pk, "RowKey": "s", "N": 1})])
    with pytest.raises(batch.TransactionFailedError) as refused:
        await batch.submit(
            table,
            [
                batch.Operation("upsert", row(pk, "0000000000000000", 0)),
                batch.Operation("create", {"PartitionKey": pk, "RowKey": "s", "N": 9}),
            ],
        )
    assert refused.value.status_code == 409
    assert "already exists" in str(refused.value.message)
    assert [e["RowKey"] for e in await read_all(table, pk)] == ["s"]


async def test_a_transaction_is_one_counted_request(clients: HubClients, table: TableClient) -> None:
    before = clients.counter.by_service["table"]
    await batch.submit(table, [batch.Operation("upsert", row("p", f"{i:016X}", i)) for i in range(10)])
    assert clients.counter.by_service["table"] == before + 1


def test_an_update_needs_an_etag_and_an_unknown_operation_is_refused() -> None:
    keys = {"PartitionKey": "p", "RowKey": "r"}
    with pytest.raises(ValueError, match="ETag"):
        batch.body("http://h/a/T", [batch.Operation("update", keys)], "b", "c")
    with pytest.raises(ValueError, match="unknown"):
        batch.body("http://h/a/T", [batch.Operation("merge", keys)], "b", "c")
