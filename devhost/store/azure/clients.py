"""The async Azure Storage clients of one task hub, sharing a request counter.

Every HTTP request the store sends (retries included) passes through ``CountingTransport``, so benchmarks
and tests can count storage requests at the client as DurableTask.AzureStorage's own logs do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline.transport import AioHttpTransport
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from devhost.store import timeline


class RequestCounter:
    """Counts storage HTTP requests by service ("table", "queue", "blob")."""

    def __init__(self) -> None:
        self.by_service: dict[str, int] = {"table": 0, "queue": 0, "blob": 0}

    @property
    def total(self) -> int:
        return sum(self.by_service.values())

    def snapshot(self) -> dict[str, int]:
        return dict(self.by_service)


# The environment variables through which aiohttp picks a proxy (it reads them in either case).
PROXY_VARIABLES = ("http_proxy", "https_proxy", "ws_proxy", "wss_proxy", "all_proxy", "no_proxy")


def proxy_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a proxy variable is set, i.e. whether reading the environment per request changes anything."""
    env = os.environ if environ is None else environ
    return any(k.lower() in PROXY_VARIABLES and v for k, v in env.items())


class CountingTransport(AioHttpTransport):  # type: ignore[misc]
    """aiohttp transport that counts each request it sends.

    It reads the environment per request (aiohttp's ``trust_env``) only when a proxy variable is set: with
    it on, aiohttp looks for a ~/.netrc in a worker thread and scans the proxy variables on EVERY request —
    a thread hop per storage request, ~10 % of devhost's CPU in a booking profile (bench/README.md) — and a
    netrc login could not be used anyway, as every storage request carries its own Authorization header."""

    def __init__(self, counter: RequestCounter, service: str, **kwargs: Any) -> None:
        kwargs.setdefault("use_env_settings", proxy_configured())
        super().__init__(**kwargs)
        self.use_env_settings: bool = kwargs["use_env_settings"]
        self._counter = counter
        self._service = service

    async def send(self, request: Any, **config: Any) -> Any:
        self._counter.by_service[self._service] += 1
        tl = timeline.get()
        if tl is None:
            return await super().send(request, **config)
        start = time.time()
        try:
            return await super().send(request, **config)
        finally:
            what = f"{request.method} {timeline.request_path(urlsplit(request.url).path)}"
            tl.add(start, time.time(), self._service, what)


@dataclass
class HubClients:
    tables: TableServiceClient
    queues: QueueServiceClient
    blobs: BlobServiceClient
    counter: RequestCounter

    @classmethod
    def from_connection_string(
        cls, connection_string: str, counter: RequestCounter | None = None
    ) -> HubClients:
        counter = counter or RequestCounter()
        return cls(
            tables=TableServiceClient.from_connection_string(
                connection_string, transport=CountingTransport(counter, "table")
            ),
            queues=QueueServiceClient.from_connection_string(
                connection_string, transport=CountingTransport(counter, "queue")
            ),
            blobs=BlobServiceClient.from_connection_string(
                connection_string, transport=CountingTransport(counter, "blob")
            ),
            counter=counter,
        )

    async def close(self) -> None:
        await self.tables.close()
        await self.queues.close()
        await self.blobs.close()


def one_line(exc: BaseException) -> str:
    """An error from the clients as one log line: its type and the first line of its text (no headers, no
    account key)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()
