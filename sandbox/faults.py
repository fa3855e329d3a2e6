"""Fault injection beyond the scenario tags: error rate, every-Nth 503 or 429, added latency before
the request is handled, or after it is handled and committed (an answer that comes too late).

Settings are stored (they survive a restart); the counters and the seeded RNG start afresh whenever
a setting is saved or the sandbox starts, so a chaos run is reproducible from its settings alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sandbox.problems import ProblemError
from sandbox.store import Store
from sandbox.wire import FaultSettings

APIS = ("conference", "airline", "rail", "hotel", "payment", "expense")
_PREFIX = "faults:"


@dataclass(frozen=True)
class Decision:
    """What happens to one request: wait `before` seconds, answer `problem` instead of handling it (if
    any), and hold the answer back `after` seconds once it is handled (its effects already stored)."""

    before: float = 0.0
    problem: ProblemError | None = None
    after: float = 0.0


@dataclass
class _State:
    settings: FaultSettings
    count: int = 0
    rng: random.Random = field(default_factory=random.Random)


class Faults:
    """Per-API fault settings and the deterministic state that applies them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._states: dict[str, _State] = {}
        for api, raw in store.settings_with_prefix(_PREFIX).items():
            if api in APIS:
                self._install(api, FaultSettings.model_validate(raw))

    def _install(self, api: str, settings: FaultSettings) -> None:
        self._states[api] = _State(settings=settings, rng=random.Random(settings.seed))

    def set(self, api: str, settings: FaultSettings) -> None:
        self._store.put_setting(_PREFIX + api, settings.model_dump(mode="json", by_alias=True))
        self._install(api, settings)

    def clear(self) -> None:
        self._store.delete_settings(_PREFIX)
        self._states.clear()

    def current(self) -> dict[str, FaultSettings]:
        return {api: self._states[api].settings if api in self._states else FaultSettings() for api in APIS}

    def decide(self, api: str) -> Decision:
        """For one request to `api`: the latencies to add and the error to answer, if any."""
        state = self._states.get(api)
        if state is None:
            return Decision()
        s = state.settings
        state.count += 1
        n = state.count
        # Draw on every request, so the sequence of decisions depends only on seed and request count.
        draw = state.rng.random()
        before, after = s.latency_ms / 1000.0, s.latency_after_ms / 1000.0
        if s.rate_limit_every and n % s.rate_limit_every == 0:
            problem = ProblemError(
                429,
                "rate_limited",
                f"{api}: too many requests (fault injection)",
                headers={"Retry-After": str(s.retry_after_seconds)},
            )
            return Decision(before, problem, after)
        if (s.error_every and n % s.error_every == 0) or draw < s.error_rate:
            return Decision(
                before, ProblemError(503, "unavailable", f"{api} is unavailable (fault injection)"), after
            )
        return Decision(before, None, after)
