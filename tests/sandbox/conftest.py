"""Shared fixtures: one sandbox process per session, an httpx client on it, a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.sandbox.receiver import Receiver
from tests.support.sandbox import SandboxProcess, sandbox  # noqa: F401  (session fixture)


@pytest.fixture
async def client(sandbox: SandboxProcess) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r
