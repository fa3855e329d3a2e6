"""Activities run against a real sandbox process (one for this folder), with the app settings
pointing at it and a fresh connection pool per test loop."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.http import close_pool
from tests.support.sandbox import SandboxProcess, app_settings_on_sandbox, sandbox  # noqa: F401  (fixtures for this folder)


@pytest.fixture
async def suppliers_up(app_settings_on_sandbox: SandboxProcess) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    """The sandbox with no faults; the test's pool is closed when its loop ends."""
    async with httpx.AsyncClient(base_url=app_settings_on_sandbox.url) as control:
        await control.delete("/_sandbox/faults")
        yield control
        await control.delete("/_sandbox/faults")
    await close_pool()


@pytest.fixture
def email() -> str:
    return f"ada+{uuid.uuid4().hex[:8]}@example.com"


def traveller(email: str) -> dict[str, str]:
    return {"name": "Ada Lovelace", "email": email}


def key(step: str) -> str:
    return f"b-{uuid.uuid4().hex[:8]}:trip:0:{step}"
