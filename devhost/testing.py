"""In-process test harness: run a function app's orchestrations on the in-memory task hub with time skipping.

The real engine runs underneath (same replay, same history, same failure strings as the runtime); only time
is virtual: when nothing can run, the clock jumps to the next due timer, so a 15-minute timeout or a
5-attempt retry backoff costs milliseconds.

    from devhost.testing import DurableHarness
    with DurableHarness(function_app) as h:          # a DFApp/FunctionApp object, or a module holding one
        h.replace_activity("book_flight", fake)      # by durable name; fake(input) may be sync or async
        iid = h.start_new("booking", input={...})    # encoded like the Python SDK client's start_new
        st = h.wait_for_completion(iid)              # run + skip time until terminal (HarnessStuck if never)
        assert st.runtime_status is RuntimeStatus.Completed and st.output == {...}
        view = st.output_as(BookingView)             # output parsed by any class with a `model_validate`

API (sync; ``AsyncDurableHarness`` has the same methods as coroutines, for async tests):
  start_new(name, input=None, instance_id=None) -> instance id
  run_until_idle()                  run everything runnable now; no time skip
  run_until(predicate, max_time=)   run + skip time until predicate() is true (HarnessStuck if nothing left)
  wait_for_completion(iid)          run + skip time until the instance is terminal; returns its status
  advance(timedelta)                move time forward, firing every timer due on the way
  raise_event(iid, name, data=None, via="client")  via="client": Python SDK client encoding (the
                                    orchestrator receives a JSON *string*, PROTOCOL.md §4.1); via="http":
                                    HTTP API body
  terminate(iid, reason) / suspend(iid, reason) / resume(iid, reason) / restart(iid, new_instance_id=True)
  get_status(iid) -> OrchestrationStatus | None (runtime_status: a RuntimeStatus, output, custom_status,
                                    input, created_time, last_updated_time, completed_time, name,
                                    instance_id; output_as(model) -> model.model_validate(output))
  history(iid) -> list of DTFx-shaped history event dicts of the current execution
  now -> current virtual time; client -> the DurableClient; store -> the TaskHubStore (MemoryStore unless
  ``store=`` was given)
Activities that raise become TaskFailed with the extension's message format.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import inspect
import json
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, TypeVar, Unpack

from azure.functions._durable_functions import df_dumps

from devhost.app_index import index_app
from devhost.clock import VirtualClock
from devhost.engine.client import DurableClient
from devhost.engine.worker import Engine
from devhost.history import TERMINAL_STATUSES, HistoryEvent, RuntimeStatus
from devhost.store.base import InstanceQuery, InstanceRecord, TaskHubStore
from devhost.store.memory import MemoryStore
from devhost.versioning import Versioning

T = TypeVar("T")
M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)
DEFAULT_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class HarnessStuck(AssertionError):
    """Nothing can run any more (no runnable work, no future timer) but the awaited condition is false."""


def _token(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class ModelClass(Protocol[M_co]):
    """A class that parses a JSON value into an instance of itself: a pydantic model, or anything with a
    ``model_validate`` classmethod of that shape (devhost depends on no model library)."""

    def model_validate(self, obj: Any, /) -> M_co: ...


def _status_of(rec: InstanceRecord) -> OrchestrationStatus:
    return OrchestrationStatus(
        name=rec.name,
        instance_id=rec.instance_id,
        runtime_status=rec.runtime_status,
        input=_token(rec.input),
        output=_token(rec.output),
        custom_status=_token(rec.custom_status),
        created_time=rec.created_time,
        last_updated_time=rec.last_updated_time,
        completed_time=rec.completed_time,
        version=rec.version,
    )


@dataclass(frozen=True)
class OrchestrationStatus:
    """What ``get_status`` returns in the runtime: payloads parsed like the status API (JSON if it parses,
    else the raw string). ``input`` of a Python-client start is the JSON *string* (double encoding,
    PROTOCOL.md §5.3)."""

    name: str
    instance_id: str
    runtime_status: RuntimeStatus
    input: Any
    output: Any
    custom_status: Any
    created_time: dt.datetime
    last_updated_time: dt.datetime
    completed_time: dt.datetime | None
    version: str = ""

    def output_as(self, model: ModelClass[M]) -> M:
        """The output parsed into `model` (``model.model_validate(output)``), e.g. ``output_as(TripView)``."""
        return model.model_validate(self.output)


class HarnessOptions(TypedDict, total=False):
    """What both harnesses take besides the app."""

    start: dt.datetime  # the virtual clock's start (default DEFAULT_START)
    max_episodes: int  # HarnessStuck beyond this many episodes (a looping orchestration)
    store: TaskHubStore  # any store works (the conformance suite runs the harness on each); default memory
    versioning: Versioning  # what host.json's defaultVersion and strategies would say (default: none set)


class AsyncDurableHarness:
    """The harness on the caller's event loop (use from async tests)."""

    def __init__(self, app: Any, **options: Unpack[HarnessOptions]) -> None:
        self.index = index_app(app)
        self.clock = VirtualClock(options.get("start", DEFAULT_START))
        self.store: TaskHubStore = options.get("store") or MemoryStore()
        versioning = options.get("versioning")
        self.engine = Engine(self.index, self.store, self.clock, versioning=versioning)
        self.client = DurableClient(self.store, self.index, self.clock, versioning=versioning)
        self.max_episodes = options.get("max_episodes", 1_000_000)

    @property
    def now(self) -> dt.datetime:
        return self.clock.peek()

    def close(self) -> None:
        self.engine.close()

    def replace_activity(
        self, name: str, fake: Callable[[Any], Any], *, allow_unregistered: bool = False
    ) -> None:
        """Replace the activity with durable name ``name`` (case-insensitive) by ``fake(input)``."""
        if self.index.activity(name) is None and not allow_unregistered:
            known = ", ".join(sorted(a.name for a in self.index.activities.values()))
            raise KeyError(f"no activity named {name!r} in the app (known: {known})")
        self.engine.activity_overrides[name.lower()] = fake

    # ------------------------------------------------------------------ client operations
    async def start_new(self, name: str, input: Any = None, instance_id: str | None = None) -> str:
        body = None if input is None else json.dumps(df_dumps(input))
        return await self.client.start(name, instance_id, body)

    async def raise_event(
        self, instance_id: str, name: str, data: Any = None, *, via: str = "client"
    ) -> None:
        if via == "client":
            body = json.dumps(json.dumps(data))
        elif via == "http":
            body = json.dumps(data)
        else:
            raise ValueError("via must be 'client' or 'http'")
        await self.client.raise_event(instance_id, name, body)

    async def terminate(self, instance_id: str, reason: str | None = None) -> None:
        await self.client.terminate(instance_id, reason)

    async def suspend(self, instance_id: str, reason: str | None = None) -> None:
        await self.client.suspend(instance_id, reason)

    async def resume(self, instance_id: str, reason: str | None = None) -> None:
        await self.client.resume(instance_id, reason)

    async def restart(self, instance_id: str, new_instance_id: bool = True) -> str:
        return await self.client.restart(instance_id, new_instance_id)

    async def get_status(self, instance_id: str) -> OrchestrationStatus | None:
        rec = await self.store.get_instance(instance_id)
        return None if rec is None else _status_of(rec)

    async def instances(self) -> list[OrchestrationStatus]:
        """Every instance of the task hub (sub-orchestrations included), in the store's order."""
        found: list[OrchestrationStatus] = []
        token: str | None = None
        while True:
            page, token = await self.store.query_instances(InstanceQuery(), 1000, token)
            found.extend(_status_of(rec) for rec in page)
            if not token:
                return found

    async def history(self, instance_id: str) -> list[HistoryEvent]:
        return [dict(e) for e in await self.store.get_history(instance_id)]

    # ------------------------------------------------------------------ running
    async def run_until_idle(self) -> None:
        """Run episodes and activities until nothing is runnable at the current virtual time."""
        while True:
            progressed = False
            while await self.engine.process_next_orchestration():
                progressed = True
                if self.engine.episodes > self.max_episodes:
                    raise HarnessStuck(
                        f"more than {self.max_episodes} episodes; is an orchestration looping?"
                    )
            items = await self.engine.lock_activities(1_000_000)
            if items:
                progressed = True
                await asyncio.gather(*(self.engine.execute_activity(i) for i in items))
            if not progressed:
                return

    async def _skip(self, limit: dt.datetime | None) -> bool:
        """Jump to the next due message; False if there is none (or it is beyond ``limit``)."""
        nxt = await self.store.next_visible_time()
        if nxt is None or nxt <= self.clock.peek():
            return False
        if limit is not None and nxt > limit:
            return False
        self.clock.advance_to(nxt)
        return True

    async def run_until(
        self, predicate: Callable[[], Any], *, max_time: dt.timedelta = dt.timedelta(days=366)
    ) -> None:
        deadline = self.clock.peek() + max_time
        extra_passes = 0
        while True:
            await self.run_until_idle()
            ok = predicate()
            if inspect.isawaitable(ok):
                ok = await ok
            if ok:
                return
            if await self._skip(deadline):
                extra_passes = 0
                continue
            # Every clock reading moves time by a microsecond, so a timer can fall due by the readings
            # of the last pass itself, after its last look: nothing to skip to, yet work to do.
            nxt = await self.store.next_visible_time()
            if nxt is not None and nxt <= self.clock.peek() and extra_passes < 3:
                extra_passes += 1
                continue
            raise HarnessStuck(await self._describe("condition still false"))

    async def wait_for_completion(
        self, instance_id: str, *, max_time: dt.timedelta = dt.timedelta(days=366)
    ) -> OrchestrationStatus:
        async def done() -> bool:
            st = await self.store.get_instance(instance_id)
            return st is not None and st.runtime_status in TERMINAL_STATUSES

        if await self.store.get_instance(instance_id) is None:
            raise KeyError(f"no instance {instance_id!r}")
        await self.run_until(done, max_time=max_time)
        st = await self.get_status(instance_id)
        assert st is not None
        return st

    async def advance(self, delta: dt.timedelta) -> None:
        target = self.clock.peek() + delta
        await self.run_until_idle()
        while await self._skip(target):
            await self.run_until_idle()
        self.clock.advance_to(target)
        await self.run_until_idle()

    async def _describe(self, what: str) -> str:
        page, _ = await self.store.query_instances(InstanceQuery(), 50, None)
        live = [
            f"{r.instance_id} ({r.name}): {r.runtime_status.name}"
            for r in page
            if r.runtime_status not in TERMINAL_STATUSES
        ]
        return (
            f"{what} at virtual time {self.clock.peek().isoformat()} and nothing is left to run "
            f"(no pending activity, timer or message). Non-terminal instances: {live or 'none'}. "
            "An instance waiting for an external event needs raise_event()."
        )


class DurableHarness:
    """Synchronous facade: the async harness on a private event loop in a daemon thread, so it can be used
    from plain and from async tests alike. Use as a context manager or call ``close()``."""

    def __init__(self, app: Any, **options: Unpack[HarnessOptions]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="devhost-harness", daemon=True)
        self._thread.start()
        self._inner = AsyncDurableHarness(app, **options)
        self._closed = False

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("harness is closed")
        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._inner.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> DurableHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()

    @property
    def now(self) -> dt.datetime:
        return self._inner.now

    @property
    def client(self) -> DurableClient:
        return self._inner.client

    @property
    def store(self) -> TaskHubStore:
        return self._inner.store

    def replace_activity(
        self, name: str, fake: Callable[[Any], Any], *, allow_unregistered: bool = False
    ) -> None:
        self._inner.replace_activity(name, fake, allow_unregistered=allow_unregistered)

    def start_new(self, name: str, input: Any = None, instance_id: str | None = None) -> str:
        return self._call(self._inner.start_new(name, input, instance_id))

    def raise_event(self, instance_id: str, name: str, data: Any = None, *, via: str = "client") -> None:
        self._call(self._inner.raise_event(instance_id, name, data, via=via))

    def terminate(self, instance_id: str, reason: str | None = None) -> None:
        self._call(self._inner.terminate(instance_id, reason))

    def suspend(self, instance_id: str, reason: str | None = None) -> None:
        self._call(self._inner.suspend(instance_id, reason))

    def resume(self, instance_id: str, reason: str | None = None) -> None:
        self._call(self._inner.resume(instance_id, reason))

    def restart(self, instance_id: str, new_instance_id: bool = True) -> str:
        return self._call(self._inner.restart(instance_id, new_instance_id))

    def get_status(self, instance_id: str) -> OrchestrationStatus | None:
        return self._call(self._inner.get_status(instance_id))

    def instances(self) -> list[OrchestrationStatus]:
        return self._call(self._inner.instances())

    def history(self, instance_id: str) -> list[HistoryEvent]:
        return self._call(self._inner.history(instance_id))

    def run_until_idle(self) -> None:
        self._call(self._inner.run_until_idle())

    def run_until(
        self, predicate: Callable[[], bool], *, max_time: dt.timedelta = dt.timedelta(days=366)
    ) -> None:
        """``predicate`` runs in the caller's thread, so it may call ``get_status`` etc."""
        deadline = self.now + max_time
        while True:
            self.run_until_idle()
            if predicate():
                return
            if not self._call(self._inner._skip(deadline)):
                raise HarnessStuck(self._call(self._inner._describe("condition still false")))

    def wait_for_completion(
        self, instance_id: str, *, max_time: dt.timedelta = dt.timedelta(days=366)
    ) -> OrchestrationStatus:
        return self._call(self._inner.wait_for_completion(instance_id, max_time=max_time))

    def advance(self, delta: dt.timedelta) -> None:
        self._call(self._inner.advance(delta))


__all__ = [
    "AsyncDurableHarness",
    "DurableHarness",
    "HarnessOptions",
    "HarnessStuck",
    "ModelClass",
    "OrchestrationStatus",
    "RuntimeStatus",
]
