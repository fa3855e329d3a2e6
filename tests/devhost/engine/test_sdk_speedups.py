"""The SDK timestamp cache must be invisible to orchestrators: same values as dateutil, same tzinfo."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from dateutil.parser import parse as dateutil_parse

from devhost import history
from devhost.engine.sdk_speedups import install_timestamp_cache


def test_cached_and_prewarmed_values_equal_dateutil() -> None:
    assert install_timestamp_cache()
    mod = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    t = dt.datetime(2024, 5, 6, 7, 8, 9, 120000, tzinfo=dt.UTC)
    text = history.format_ts(t)  # pre-warms the cache
    assert text == "2024-05-06T07:08:09.12Z"
    for s in (text, "2024-01-01T00:00:00Z", "2023-04-05T03:31:23.6268922Z", "2024-01-01T00:00:00.000001Z"):
        got, want = mod.dt_parse(s), dateutil_parse(s)
        assert got == want and type(got.tzinfo) is type(want.tzinfo) and got.utcoffset() == want.utcoffset()
        assert mod.dt_parse(s) is got  # second call served from the cache
    # calls with extra arguments go straight to dateutil
    assert mod.dt_parse("2024-01-01", dayfirst=True) == dateutil_parse("2024-01-01", dayfirst=True)


def test_the_cache_is_bounded_and_keeps_what_is_still_being_replayed(monkeypatch) -> None:
    """Least recently used goes first: a timestamp read at every replay stays, those of a finished instance
    (never read again) leave once the cache is full."""
    from devhost.engine import sdk_speedups

    monkeypatch.setattr(sdk_speedups, "_MAX", 8)
    parsed: list[str] = []

    def counting_parse(text: str) -> Any:
        parsed.append(text)
        return dateutil_parse(text)

    cache = sdk_speedups._TimestampCache(counting_parse)
    live = "2024-01-01T00:00:00.5Z"
    cache.parse(live)
    for i in range(40):
        cache.parse(f"2024-01-02T00:00:{i:02d}Z")  # a finished instance's events, read once
        cache.parse(live)  # the instance still running replays its own each episode
    assert len(cache.values) <= 8
    assert parsed.count(live) == 1  # never evicted while in use
    assert "2024-01-02T00:00:00Z" not in cache.values
