"""Reading many Instances rows fast: every column but the payloads, as plain JSON.

A list of instances (the dashboard's, over 10,000 rows) needs each row's id, name, status and times, never
its Input, Output or CustomStatus. Two costs make the SDK's `query_entities` slow for that (measured on
Azurite 3.35, 10,000 rows, quiet machine): the payload columns, which the service must serialize (~300 ms
with them, ~190 ms without, via `$select`), and the SDK's own reading of each entity (a generic
deserializer, then `strptime` for every date column: ~450 ms of Python time for the rows without
payloads). So this module asks for `$select` of the summary columns with `odata=nometadata` and reads the
JSON itself (~40 ms of Python time): one page is the service's cost plus one `json.loads`.

The request is the SDK's own (`build_table_query_entities_request`, sent through the table client's
pipeline: its authentication, retries and API version), so it behaves as the SDK does against Azure
Storage and Azurite; only the response is read here. Both are private parts of azure-data-tables 12.7.0
(pinned); tests/devhost/azure/test_summaries.py compares this reader with the SDK's, so an upgrade that
changes them fails there.

Service facts relied on (Table service REST: "Query Entities", "Payload format for Table service
operations"): `$select` returns only the named properties (a named property the entity lacks is absent or
null); with `odata=nometadata` no type annotations are sent, so DateTime values arrive as ISO 8601 text
and Int64 as a string; a page holds at most 1,000 entities and continues with the
`x-ms-continuation-NextPartitionKey`/`NextRowKey` headers.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables._generated.operations._operations import build_table_query_entities_request
from azure.data.tables.aio import TableClient

# InstanceRecord's columns without Input, Output and CustomStatus (entities.instance_to_entity).
SUMMARY_COLUMNS = (
    "PartitionKey", "Name", "Version", "RuntimeStatus", "CreatedTime", "LastUpdatedTime", "CompletedTime",
    "ExecutionId", "Generation", "Tags", "ScheduledStartTime", "ParentInstanceId",
)  # fmt: skip
_NO_METADATA = "application/json;odata=nometadata"
_NEXT_PARTITION_KEY = "x-ms-continuation-NextPartitionKey"
_NEXT_ROW_KEY = "x-ms-continuation-NextRowKey"


async def query_page(
    table: TableClient,
    query_filter: str,
    page_size: int,
    token: dict[str, Any] | None,
    select: tuple[str, ...] = SUMMARY_COLUMNS,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of rows matching `query_filter` (OData text, literals inline), only the `select` columns,
    as plain dicts (dates as text); and the continuation token in the SDK's shape
    (`{"PartitionKey", "RowKey"}`, None at the end), so pages can continue either reader's."""
    request = build_table_query_entities_request(
        table.table_name,
        top=page_size,
        select=",".join(select),
        filter=query_filter,
        next_partition_key=(token or {}).get("PartitionKey"),
        next_row_key=(token or {}).get("RowKey"),
        headers={"Accept": _NO_METADATA},
    )
    response = await table._client.send_request(request)  # noqa: SLF001 - see the module docstring
    if response.status_code == 404:
        raise ResourceNotFoundError(f"no table {table.table_name!r}", response=response)
    response.raise_for_status()
    body = json.loads(await response.read())
    rows = [{k: v for k, v in row.items() if v is not None} for row in body["value"]]
    next_pk, next_rk = response.headers.get(_NEXT_PARTITION_KEY), response.headers.get(_NEXT_ROW_KEY)
    if not next_pk and not next_rk:
        return rows, None
    return rows, {"PartitionKey": next_pk, "RowKey": next_rk}
