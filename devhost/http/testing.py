"""Test helper: the management API and HTTP front over an in-memory engine on a free 127.0.0.1 port.

For tests of client functions (HTTP triggers with a durableClient binding) that want the SDK's real
`DurableOrchestrationClient` talking to a real Durable HTTP API:

    async with durable_host(function_app.app) as host:
        req = func.HttpRequest("POST", host.base_url + "/api/bookings", body=b"...", headers={...})
        resp = await host.call("start_booking", req)          # func.HttpResponse (or str)
        record = await host.wait_for(json.loads(resp.get_body())["id"])

`call` invokes the function as the worker does (keyword arguments by binding name, the durableClient
binding JSON, `context` when declared); exceptions propagate. `client_binding` is that JSON for building a
`DurableOrchestrationClient` yourself; `base_url` also serves the app's HTTP triggers over real HTTP.
The app's orchestrators and activities run in the same process (the engine's dispatcher loop), so
instances really progress; `host.engine.activity_overrides[name.lower()] = fake` swaps an activity.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.app_index import index_app
from devhost.config import HostConfig
from devhost.engine.worker import Engine
from devhost.history import TERMINAL_STATUSES
from devhost.http.binding import DurableUrls
from devhost.http.host import DevHost
from devhost.store.base import InstanceRecord, TaskHubStore
from devhost.store.memory import MemoryStore


@dataclass
class DurableTestHost:
    """A running devhost for tests; see the module docstring."""

    host: DevHost

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` — HTTP triggers under `/api`, the management API under
        `/runtime/webhooks/durabletask`, the SDK's RPC base under `/durabletask/`."""
        return self.host.base_url

    @property
    def hub_name(self) -> str:
        return self.host.config.hub_name

    @property
    def urls(self) -> DurableUrls:
        return self.host.urls

    @property
    def client_binding(self) -> str:
        """The durableClient binding value (JSON text), as passed to a function's client parameter."""
        return self.host.urls.client_binding_json()

    @property
    def store(self) -> TaskHubStore:
        return self.host.store

    @property
    def engine(self) -> Engine:
        assert self.host.workers is not None
        return self.host.workers.engine

    async def call(self, function_name: str, request: func.HttpRequest) -> Any:
        """Invoke the HTTP-triggered function `function_name` with `request`, as the worker would."""
        assert self.host.web is not None
        for fn in self.host.index.http_functions:
            if fn.function_name.lower() == function_name.lower():
                return await self.host.web.front.call(fn, request)
        known = ", ".join(sorted(f.function_name for f in self.host.index.http_functions))
        raise KeyError(f"no HTTP function named {function_name!r} (known: {known})")

    async def status(self, instance_id: str) -> InstanceRecord | None:
        return await self.host.store.get_instance(instance_id)

    async def wait_for(self, instance_id: str, timeout: float = 10.0) -> InstanceRecord:
        """Poll until the instance is Completed/Failed/Terminated/Canceled; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            record = await self.host.store.get_instance(instance_id)
            if record is not None and record.runtime_status in TERMINAL_STATUSES:
                return record
            if time.monotonic() > deadline:
                state = "unknown" if record is None else record.runtime_status.name
                raise TimeoutError(f"instance {instance_id} still {state} after {timeout}s")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def durable_host(
    app: Any,
    *,
    hub_name: str = "TestHubName",
    route_prefix: str = "api",
    app_root: Path | None = None,
    store: TaskHubStore | None = None,
) -> AsyncIterator[DurableTestHost]:
    """Serve `app` (a DFApp/FunctionApp, or a module holding exactly one) with an in-memory task hub
    (or `store`, e.g. an Azure Storage store on Azurite; it is opened and closed here).

    The app is indexed with `devhost.app_index.index_app`, which calls `get_functions()` only once per
    app object, so several tests may use the same imported app. Stops everything when the block ends."""
    index = index_app(app)
    config = HostConfig(route_prefix=route_prefix, hub_name=hub_name, max_queue_polling_interval=0.5)
    host = DevHost(index=index, config=config, store=store or MemoryStore(), app_root=app_root or Path.cwd())
    await host.start()
    try:
        yield DurableTestHost(host)
    finally:
        # Also closes the SDK's module-level aiohttp session, which is bound to this (the test's) loop.
        await host.stop()
