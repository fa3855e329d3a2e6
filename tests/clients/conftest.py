"""Fixtures for the client-function tests: the dev settings as environment, a recording management API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from booking.settings import get_settings
from clients.dedupe import recent_webhooks
from tests.clients.support import RecordingRpc, dev_settings, recording_rpc


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = dev_settings()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    recent_webhooks.forget_all()
    yield values
    get_settings.cache_clear()
    recent_webhooks.forget_all()


@pytest.fixture
async def rpc() -> AsyncIterator[RecordingRpc]:
    async with recording_rpc() as server:
        yield server


from tests.support.sandbox import sandbox  # noqa: E402, F401  (the session fixture, for test_real_app.py)
