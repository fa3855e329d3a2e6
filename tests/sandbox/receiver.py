"""A real webhook receiver for tests: an aiohttp server on a free 127.0.0.1 port that records every
delivery and answers with programmable statuses (to exercise the sandbox's retries).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float  # wall-clock time of arrival (time.time())

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Collects webhooks; `statuses` is consumed one per delivery, then every answer is `default`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.default = 200
        self.delay = 0.0  # seconds each answer takes (a slow app)
        self.in_flight = 0
        self.most_in_flight = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        status = self.statuses.pop(0) if self.statuses else self.default
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received.append(
            Received({k.lower(): v for k, v in request.headers.items()}, body, status, time.time())
        )
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hooks/{uuid.uuid4().hex}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait (bounded) until at least `count` deliveries arrived; fail loudly otherwise."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} webhooks, got {len(self.received)}")
            await asyncio.sleep(0.02)
        return self.received
