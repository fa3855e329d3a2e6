"""One running devhost: the web layer on 127.0.0.1 plus the engine's dispatchers over one task-hub store.

Used by the CLI (`python -m devhost start`) and by `devhost.http.testing`; both start and stop it here so
that tests exercise the same assembly as a developer's terminal.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from azure.durable_functions.models.utils import http_utils

from devhost import spans
from devhost.app_index import AppIndex
from devhost.clock import Clock, SystemClock
from devhost.config import HostConfig
from devhost.engine.client import DurableClient
from devhost.http.binding import DurableUrls, connection_short_name
from devhost.http.keys import HostKeys
from devhost.http.server import HostApp, bind_socket, build_app, serve
from devhost.http.workers import EngineWorkers
from devhost.store.base import TaskHubStore

log = logging.getLogger(__name__)


@dataclass
class DevHost:
    """Build with the app index, config and store; `await start()`, then `base_url`; `await stop()`."""

    index: AppIndex
    config: HostConfig
    store: TaskHubStore
    app_root: Path
    port: int = 0
    keys: HostKeys | None = None
    clock: Clock = field(default_factory=SystemClock)
    run_engine: bool = True
    public_origin: str | None = None  # e.g. WEBSITE_HOSTNAME; default http://127.0.0.1:<port>

    def __post_init__(self) -> None:
        self.base_url = ""
        self.web: HostApp | None = None
        self.client: DurableClient | None = None
        self.workers: EngineWorkers | None = None
        self._runner: object | None = None
        # Sync functions run in a pool sized like the worker's: PYTHON_THREADPOOL_THREAD_COUNT, else the
        # ThreadPoolExecutor default (min(32, cpus + 4)).
        self._executor = ThreadPoolExecutor(max_workers=_pool_size(), thread_name_prefix="devhost-fn")

    @property
    def urls(self) -> DurableUrls:
        assert self.web is not None, "start() first"
        return self.web.urls

    async def start(self) -> None:
        sock = bind_socket(self.port)
        actual_port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{actual_port}"
        urls = DurableUrls(
            origin=self.public_origin or self.base_url,
            hub_name=self.config.hub_name,
            connection=connection_short_name(self.config.connection_name),
            system_key=self.keys.durable_system_key if self.keys else None,
        )
        await self.store.open()
        spans.start(self.config.distributed_tracing)
        if self.run_engine:
            self.workers = EngineWorkers(self.store, self.clock, self.index, self.config)
        self.client = DurableClient(self.store, self.index, self.clock, hub_name=self.config.hub_name,
                                    overridable=self.config.overridable_states,
                                    versioning=self.config.versioning)
        self.web = build_app(
            functions=self.index.http_functions,
            hub=self.client,
            urls=urls,
            route_prefix=self.config.route_prefix,
            app_root=self.app_root,
            executor=self._executor,
            keys=self.keys,
            disabled=self.index.disabled,
        )
        try:
            self._runner = await serve(self.web, sock)
        except BaseException:
            sock.close()
            raise
        if self.workers is not None:
            await self.workers.start()

    async def stop(self) -> None:
        """Stop taking requests, let the dispatchers finish what they hold, close the store."""
        from aiohttp import web

        if isinstance(self._runner, web.AppRunner):
            await self._runner.cleanup()
            self._runner = None
        if self.workers is not None:
            await self.workers.stop()
            self.workers = None
        await self.store.close()
        await asyncio.get_running_loop().run_in_executor(None, spans.stop)
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
        # Client functions share the SDK's module-level aiohttp session, bound to this loop: close it with
        # the SDK's own helper so nothing is left unclosed (the worker never gets to do this).
        await http_utils._close_session()


def _pool_size() -> int | None:
    raw = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "")
    try:
        size = int(raw)
    except ValueError:
        return None
    return size if size > 0 else None
