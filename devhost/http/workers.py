"""Runs the engine's dispatcher loop (`devhost.engine.worker.Engine.run`) inside the host process, with the
host.json limits: maxConcurrentActivityFunctions caps activities in flight; episodes run one at a time on
the event loop (the SDK's replay is synchronous), which is within maxConcurrentOrchestratorFunctions.
"""

from __future__ import annotations

import asyncio
import logging

from devhost.app_index import AppIndex
from devhost.clock import Clock
from devhost.config import HostConfig
from devhost.engine.worker import Engine
from devhost.store.base import TaskHubStore

log = logging.getLogger(__name__)


class EngineWorkers:
    """Start/stop wrapper around one `Engine` loop."""

    def __init__(self, store: TaskHubStore, clock: Clock, index: AppIndex, config: HostConfig) -> None:
        self.config = config
        self.engine = Engine(
            index,
            store,
            clock,
            max_activity_workers=config.max_concurrent_activities,
            versioning=config.versioning,
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(
            self.engine.run(
                self._stop,
                poll_interval=self.config.max_queue_polling_interval,
                max_concurrent_activities=self.config.max_concurrent_activities,
            ),
            name="devhost-engine",
        )

    async def stop(self) -> None:
        """Ask the loop to stop; it finishes the activities it holds, then the pool is shut down."""
        self._stop.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:  # the loop already logs its own errors; stopping must not raise
                log.exception("engine loop ended with an error")
            self._task = None
        await asyncio.get_running_loop().run_in_executor(None, self.engine.close)
