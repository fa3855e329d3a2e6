"""Table transactions (entity group transactions) written as bytes: the checkpoint's hot request.

Every episode's checkpoint is one ``$batch`` request to the History table. azure-data-tables builds that
request as a MIME multipart message with the stdlib ``email`` package (a policy pipeline run per inner
request, header registries, a generator) and parses the multipart reply the same way; in a booking profile
that was ~10 % of devhost's CPU and a third of a commit's (bench/README.md, "A whole booking"). The format
is small and fixed (the Table service's REST reference, "Performing entity group transactions"): one
changeset of HTTP requests inside one batch, each answered by one status line in the reply. So this module
writes it directly and reads the reply's status lines and ETags; the request itself still goes through the
table client's own pipeline (shared-key signing, retries, the request counter), and the entities are
serialized by the SDK's own function, so what is stored is byte for byte what the SDK would store.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.data.tables._serialize import _add_entity_properties
from azure.data.tables.aio import TableClient

# The API version the SDK sends (its inner requests carry the same).
_API_VERSION = "2019-02-02"
_STATUS = re.compile(rb"^HTTP/1\.1 (\d{3})", re.MULTILINE)
_ETAG = re.compile(rb"^ETag: *(.+?)\r?$", re.MULTILINE | re.IGNORECASE)
_MESSAGE = re.compile(rb'"value" *: *"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Operation:
    """One write of a transaction: ``upsert`` (insert or replace), ``create`` (insert; fails if the row
    exists) or ``update`` (replace only if the row still has ``etag``)."""

    kind: str
    entity: dict[str, Any]
    etag: str | None = None


class TransactionFailedError(HttpResponseError):
    """The service refused the transaction: nothing of it was written. ``status_code`` is the status of
    the operation that failed (409: a row to create exists; 412: a row's ETag changed)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message=message)
        self.status_code = status_code


def _key(value: str) -> str:
    return quote(value.replace("'", "''"), safe="")


def _part(table_url: str, index: int, op: Operation, boundary: str) -> bytes:
    body = json.dumps(_add_entity_properties(op.entity), separators=(",", ":")).encode("utf-8")
    if op.kind == "create":
        line = f"POST {table_url} HTTP/1.1"
        extra = "Prefer: return-no-content\r\n"
    elif op.kind in ("upsert", "update"):
        pk, rk = _key(op.entity["PartitionKey"]), _key(op.entity["RowKey"])
        line = f"PUT {table_url}(PartitionKey='{pk}',RowKey='{rk}') HTTP/1.1"
        extra = ""
        if op.kind == "update":
            if not op.etag:
                raise ValueError("an update needs the row's ETag")
            extra = f"If-Match: {op.etag}\r\n"
    else:
        raise ValueError(f"unknown table operation {op.kind!r}")
    head = (
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        f"Content-ID: {index}\r\n\r\n{line}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-ms-version: {_API_VERSION}\r\nDataServiceVersion: 3.0\r\n"
        f"Accept: application/json;odata=minimalmetadata\r\n{extra}\r\n"
    )
    return head.encode("utf-8") + body + b"\r\n"


def body(table_url: str, operations: Sequence[Operation], batch: str, changeset: str) -> bytes:
    """The multipart body of one transaction (one changeset holding every operation)."""
    parts = b"".join(_part(table_url, i, op, changeset) for i, op in enumerate(operations))
    head = (
        f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n".encode()
    )
    return head + parts + f"--{changeset}--\r\n\r\n--{batch}--\r\n".encode()


def results(reply: bytes, count: int) -> list[str | None]:
    """The ETag of each operation from a transaction's reply; raises ``TransactionFailedError`` when the
    service refused it (it then answers with one part: the failed operation's status and error)."""
    starts = [m.start() for m in _STATUS.finditer(reply)] + [len(reply)]
    etags: list[str | None] = []
    for start, end in zip(starts, starts[1:], strict=False):
        part = reply[start:end]
        status = int(part[9:12])
        if not 200 <= status < 300:
            found = _MESSAGE.search(part)
            text = json.loads(b'"' + found.group(1) + b'"') if found else part.split(b"\r\n", 1)[0].decode()
            raise TransactionFailedError(status, str(text))
        etag = _ETAG.search(part)
        etags.append(etag.group(1).decode() if etag else None)
    if len(etags) != count:
        raise HttpResponseError(message=f"table transaction: {len(etags)} results for {count} operations")
    return etags


async def submit(table: TableClient, operations: Sequence[Operation]) -> list[str | None]:
    """Run ``operations`` (all in one partition) as one transaction; the ETag each row has now."""
    if not operations:
        return []
    base = f"{table.scheme}://{table._primary_hostname}"  # as the SDK builds it (the account's path included)
    table_url = f"{base}/{table.table_name}"
    batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    request = HttpRequest(
        "POST",
        f"{base}/$batch",
        headers={
            "x-ms-version": _API_VERSION,
            "DataServiceVersion": "3.0",
            "MaxDataServiceVersion": "3.0;NetFx",
            "Content-Type": f"multipart/mixed; boundary={batch}",
            "Accept": "application/json",
        },
        content=body(table_url, operations, batch, changeset),
    )
    # The client's own pipeline (signing, retries); streamed, as the SDK does, so that no policy tries to
    # decode the multipart reply.
    response = await table._client.send_request(request, stream=True)
    reply = await response.read()
    if response.status_code != 202:
        raise HttpResponseError(response=response)
    return results(reply, len(operations))
