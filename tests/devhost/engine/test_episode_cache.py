"""The episode runner's serialized-history cache is bounded by the characters it holds, not only by entries:
thousands of instances parked on an hour-long wait must not each keep their whole history's text."""

from __future__ import annotations

import datetime as dt
import json

from devhost import history as h
from devhost.app_index import index_app
from devhost.engine.episode import EpisodeRunner
from tests.devhost.engine.vector_support import VEC

INDEX = index_app(VEC.app)
T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


class FixedClock:
    def now(self) -> dt.datetime:
        return T0


def history(n: int) -> list[h.HistoryEvent]:
    return [h.orchestrator_started(h.format_ts(T0 + dt.timedelta(seconds=i))) for i in range(n)]


def fragment(events: list[h.HistoryEvent]) -> str:
    return json.dumps(events)[1:-1]


def runner(max_chars: int, max_entries: int = 8192) -> EpisodeRunner:
    r = EpisodeRunner(INDEX, FixedClock())
    r.CACHE_MAX_CHARS = max_chars
    r.CACHE_MAX = max_entries
    return r


def test_least_recently_remembered_leave_when_the_characters_would_pass_the_bound() -> None:
    hist = history(3)
    size = len(fragment(hist))
    r = runner(max_chars=3 * size)
    for iid in ("a", "b", "c"):
        r._remember(iid, "x", len(hist), fragment(hist))
    assert r.cache_size() == (3, 3 * size)
    r._remember("a", "x", len(hist), fragment(hist))  # a is now the most recent
    r._remember("d", "x", len(hist), fragment(hist))
    assert sorted(r._cache) == ["a", "c", "d"]
    assert r.cache_size() == (3, 3 * size)


def test_forget_and_replacing_an_entry_keep_the_character_count_exact() -> None:
    short, long = history(2), history(6)
    r = runner(max_chars=10**6)
    r._remember("a", "x", len(short), fragment(short))
    r._remember("a", "x", len(long), fragment(long))
    r._remember("b", "x", len(short), fragment(short))
    assert r.cache_size() == (2, len(fragment(long)) + len(fragment(short)))
    r.forget("a")
    r.forget("a")
    assert r.cache_size() == (1, len(fragment(short)))


def test_a_fragment_larger_than_the_whole_bound_is_not_kept() -> None:
    small, big = history(1), history(20)
    r = runner(max_chars=len(fragment(big)) - 1)
    r._remember("a", "x", len(small), fragment(small))
    r._remember("b", "x", len(big), fragment(big))
    assert list(r._cache) == ["a"]


def test_the_entry_bound_still_holds() -> None:
    hist = history(1)
    r = runner(max_chars=10**6, max_entries=2)
    for iid in ("a", "b", "c"):
        r._remember(iid, "x", len(hist), fragment(hist))
    assert sorted(r._cache) == ["b", "c"]


def test_an_evicted_instance_gets_the_same_history_text_as_a_cached_one() -> None:
    hist = history(5)
    r = runner(max_chars=len(fragment(hist[:3])))
    r._remember("a", "x", 3, fragment(hist[:3]))
    cached = r._history_json("a", "x", hist)  # the cached prefix and the two new events
    r._remember("b", "x", 3, fragment(hist[:3]))  # evicts a
    assert "a" not in r._cache
    fresh = r._history_json("a", "x", hist)
    assert json.loads(f"[{fresh}]") == json.loads(f"[{cached}]") == hist
