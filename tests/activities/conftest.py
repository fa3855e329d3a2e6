"""Activities run against a real sandbox process (one for this folder), with the app settings
pointing at it and a fresh connection pool per test loop."""

from __future__ import annotations

import uuid

import httpx
import pytest

from activities.http import close_pool
from booking.settings import DEV_WEBHOOK_SECRET, get_settings
from tests.support.sandbox import sandbox  # noqa: F401  (the session fixture, declared for this folder)

APIS = ("conference", "airline", "rail", "hotel", "payment", "expense")


@pytest.fixture
def settings_env(sandbox, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
    for api in APIS:
        monkeypatch.setenv(f"{api.upper()}_API_URL", f"{sandbox.url}/{api}")
    get_settings.cache_clear()
    yield sandbox
    get_settings.cache_clear()


@pytest.fixture
async def suppliers_up(settings_env):
    """The sandbox with no faults; the test's pool is closed when its loop ends."""
    async with httpx.AsyncClient(base_url=settings_env.url) as control:
        await control.delete("/_sandbox/faults")
        yield control
        await control.delete("/_sandbox/faults")
    await close_pool()


@pytest.fixture
def email():
    return f"ada+{uuid.uuid4().hex[:8]}@example.com"


def traveller(email: str) -> dict[str, str]:
    return {"name": "Ada Lovelace", "email": email}


def key(step: str) -> str:
    return f"b-{uuid.uuid4().hex[:8]}:trip:0:{step}"
