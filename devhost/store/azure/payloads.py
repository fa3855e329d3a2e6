"""Large payloads in the ``{hub}-largemessages`` container: gzip blobs for queue messages over 45 KB and
table properties over 60 KB (UTF-16), named as DurableTask.AzureStorage names them (PROTOCOL.md §6).
"""

from __future__ import annotations

import contextlib
import gzip
import random
from urllib.parse import quote, unquote, urlsplit

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

# Table properties hold at most 64 KiB; DTFx moves UTF-16 payloads over 60 KiB to blobs.
MAX_TABLE_PROPERTY_BYTES = 60 * 1024
# DTFx AzureTableTrackingStore.VariableSizeEntityProperties: the columns that may spill to blobs.
VARIABLE_SIZE_PROPERTIES = ("Name", "Input", "Result", "Output", "Reason", "Details", "Correlation",
                            "FailureDetails", "Tags")  # fmt: skip


def exceeds_table_property(text: str | None) -> bool:
    return bool(text) and len(text.encode("utf-16-le")) > MAX_TABLE_PROPERTY_BYTES  # type: ignore[union-attr]


def compress(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"))


def decompress(data: bytes) -> str:
    return gzip.decompress(data).decode("utf-8")


def history_blob_name(partition_key: str, row_key: str, event_type: str, prop: str) -> str:
    """DTFx GetBlobName: ``{pk}/history-{RowKey}-{EventType}-{random:X8}-{prop}.json.gz``."""
    return f"{partition_key}/history-{row_key}-{event_type}-{random.getrandbits(31):08X}-{prop}.json.gz"


class LargePayloads:
    """Upload, download and delete gzip payload blobs of one hub."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    @property
    def container_url(self) -> str:
        return str(self._container.url).rstrip("/")

    def blob_url(self, name: str) -> str:
        """DTFx MessageManager.GetBlobUrl: container URL + the name escaped per segment."""
        return f"{self.container_url}/{'/'.join(quote(part, safe='') for part in name.split('/'))}"

    def name_from_url(self, value: str) -> str | None:
        """The blob name if ``value`` is a URL of a blob in this container (Instances Input/Output)."""
        prefix = self.container_url + "/"
        if not value.startswith(prefix):
            return None
        path = urlsplit(value).path
        container_path = urlsplit(prefix).path
        return unquote(path[len(container_path) :]) if path.startswith(container_path) else None

    async def upload(self, name: str, text: str) -> None:
        await self._container.upload_blob(name, compress(text), overwrite=True)

    async def download(self, name: str) -> str:
        stream = await self._container.download_blob(name)
        return decompress(await stream.readall())

    async def delete(self, name: str) -> None:
        """Delete one blob; one already gone is fine."""
        with contextlib.suppress(ResourceNotFoundError):
            await self._container.delete_blob(name)

    async def delete_prefix(self, prefix: str) -> int:
        names = [b.name async for b in self._container.list_blobs(name_starts_with=prefix)]
        for name in names:
            try:
                await self._container.delete_blob(name)
            except ResourceNotFoundError:
                pass
        return len(names)
