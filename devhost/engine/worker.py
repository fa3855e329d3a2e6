"""The engine's worker: pulls orchestration and activity work from a store and processes it.

``Engine.run(stop)`` is the host's long-running loop; the harness drives the same primitives
(``process_next_orchestration``, ``lock_activities``/``execute_activity``) step by step under virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devhost import history as h
from devhost import spans
from devhost.app_index import AppIndex
from devhost.clock import Clock, SystemClock
from devhost.engine import entities
from devhost.engine.activity import ActivityOutcome, run_activity
from devhost.engine.episode import EpisodeRunner, unknown_activity_message
from devhost.engine.sdk_speedups import install_timestamp_cache
from devhost.history import TERMINAL_STATUSES, RuntimeStatus
from devhost.store import timeline
from devhost.store.base import (
    ActivityWorkItem,
    EpisodeCommit,
    LockLostError,
    OrchestrationMessage,
    OrchestrationWorkItem,
    TaskHubStore,
)
from devhost.tracing import TraceContext, from_dtfx
from devhost.versioning import MISMATCH_ERROR_TYPE, MISMATCH_MESSAGE, FailureStrategy, Versioning

log = logging.getLogger("devhost.engine")
# How long an instance this host may not run is held before its messages go back (Reject strategy), and
# how long the work of a disabled activity or entity is held before it is offered again (§38).
REJECTED_PAUSE_SECONDS = 5.0
# (instance, disabled function) pairs already warned about: a bounded memory, emptied when full.
_WARNED_DISABLED_MAX = 1024


class Engine:
    """Runs episodes and activities for one task hub.

    ``activity_overrides`` (durable name → callable taking the input value, sync or async) replace app
    activities; the harness uses them for fakes."""

    def __init__(
        self,
        index: AppIndex,
        store: TaskHubStore,
        clock: Clock | None = None,
        *,
        lock_for: dt.timedelta = dt.timedelta(minutes=5),
        max_activity_workers: int = 16,
        measure: bool = False,
        versioning: Versioning | None = None,
    ) -> None:
        install_timestamp_cache()
        self.index = index
        self.store = store
        self.versioning = versioning or Versioning()
        self.clock: Clock = clock or SystemClock()
        self.lock_for = lock_for
        self.runner = EpisodeRunner(
            index, self.clock, time.perf_counter if measure else None, versioning=self.versioning
        )
        self.activity_overrides: dict[str, Callable[..., Any]] = {}
        self._executor: ThreadPoolExecutor | None = None
        # Orchestrator code runs where the Python worker runs sync functions: on a pool thread with no
        # event loop running (PROTOCOL.md §34). One thread: episodes stay one at a time, in order.
        self._orchestrator_thread = ThreadPoolExecutor(1, thread_name_prefix="devhost-orchestrator")
        self._max_workers = max_activity_workers
        self.episodes = 0
        self._inflight: dict[str, int] = {}  # instance id -> activities this worker is running for it
        self._drained: dict[str, asyncio.Event] = {}
        self._held_since: dict[str, float] = {}
        self._warned_disabled: set[tuple[str, str]] = set()  # (instance id, function): warned once

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="devhost-activity")
        return self._executor

    def close(self) -> None:
        self._orchestrator_thread.shutdown(wait=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # ------------------------------------------------------------------ orchestrations
    async def process_next_orchestration(self) -> bool:
        """Run the next episode; False when there was none, or its instance is left for another host."""
        item = await self.store.lock_next_orchestration(self.clock.now(), self.lock_for)
        if item is None:
            return False
        if self.versioning.failure is FailureStrategy.REJECT and self.refuses(item):
            await self.store.abandon_orchestration(item)
            return False
        if self.disabled_entity(item):
            await self.store.abandon_orchestration(item)
            return False
        await self.process_orchestration(item)
        return True

    def _warn_disabled(self, instance_id: str, kind: str, function_name: str) -> None:
        key = (instance_id, function_name.lower())
        if key in self._warned_disabled:
            return
        if len(self._warned_disabled) >= _WARNED_DISABLED_MAX:
            self._warned_disabled.clear()  # bounded: at worst an instance is warned about once more
        self._warned_disabled.add(key)
        log.warning(
            "%s: %s function '%s' is disabled (app setting AzureWebJobs.%s.Disabled); its work is kept and "
            "retried until the function is enabled again",
            instance_id, kind, function_name, function_name,
        )

    def disabled_entity(self, item: OrchestrationWorkItem) -> bool:
        """An entity whose function is disabled: the extension finds no executor for it and the work item
        is abandoned and retried, so its operations wait (PROTOCOL.md §38)."""
        if not entities.is_entity(item.instance_id):
            return False
        try:
            name, _key = entities.parse_scheduler_id(item.instance_id)
        except entities.EntityIdError:
            return False
        fn = self.index.entity(name)
        if fn is None or not self.index.is_disabled(fn.function_name):
            return False
        self._warn_disabled(item.instance_id, "entity", fn.function_name)
        return True

    def disabled_activity(self, item: ActivityWorkItem) -> bool:
        """An activity whose function is disabled: the extension cannot build its shim (no executor), DTFx
        abandons the work item and retries it, so the calling orchestration waits (PROTOCOL.md §38)."""
        name = str(item.message.event.get("Name"))
        if name.lower() in self.activity_overrides:
            return False
        act = self.index.activity(name)
        if act is None or not self.index.is_disabled(act.function_name):
            return False
        self._warn_disabled(item.message.instance_id, "activity", act.function_name)
        return True

    def refuses(self, item: OrchestrationWorkItem) -> bool:
        """This host's versioning does not let it run the instance (PROTOCOL.md §36)."""
        inst = item.instance
        if inst is None or inst.runtime_status in TERMINAL_STATUSES:
            return False
        if not self.versioning.refuses(inst.version):
            return False
        log.warning(
            "%s: version %r is not run by this host (defaultVersion %r, %s): %s",
            item.instance_id,
            inst.version,
            self.versioning.default_version,
            self.versioning.match,
            "failed" if self.versioning.failure is FailureStrategy.FAIL else "left for another host",
        )
        return True

    async def process_orchestration(self, item: OrchestrationWorkItem) -> None:
        # The checkpoint tail the commit spawns inherits this, so its requests are the instance's too.
        reset = timeline.current_instance.set(item.instance_id)
        try:
            await self._process_orchestration(item)
        finally:
            timeline.current_instance.reset(reset)

    async def _process_orchestration(self, item: OrchestrationWorkItem) -> None:
        try:
            if self.refuses(item):
                commit = self._version_failure(item)
            else:
                loop = asyncio.get_running_loop()
                with timeline.span("episode"):
                    commit = await loop.run_in_executor(self._orchestrator_thread, self.runner.run, item)
        except Exception as exc:  # noqa: BLE001 - an engine bug fails one instance, never the process
            log.exception("internal error in episode of %s", item.instance_id)
            commit = self._internal_failure(item, exc)
        try:
            with timeline.span("commit"):
                await self.store.commit_episode(item, commit)
        except LockLostError:
            log.warning("lost the lock on %s; its episode is discarded and will be redone", item.instance_id)
            self.runner.forget(item.instance_id)
            return
        except Exception:
            # nothing was (reliably) stored: release the instance so the episode is redone from storage
            self.runner.forget(item.instance_id)
            try:
                await self.store.abandon_orchestration(item)
            except Exception:  # noqa: BLE001 - the lease will expire instead
                log.exception("could not abandon %s after a failed commit", item.instance_id)
            raise
        self.episodes += 1
        if spans.active():
            spans.episode_stored(item.instance_id, item.history, commit.history)

    def _internal_failure(self, item: OrchestrationWorkItem, exc: Exception) -> EpisodeCommit:
        name = item.instance.name if item.instance else ""
        msg = f"Orchestrator function '{name}' failed: devhost internal error: {type(exc).__name__}: {exc}"
        return self._failed(item, msg)

    def _version_failure(self, item: OrchestrationWorkItem) -> EpisodeCommit:
        """DTFx's Fail strategy: the instance completes Failed with VersionMismatch details (§36)."""
        details = {"ErrorType": MISMATCH_ERROR_TYPE, "ErrorMessage": MISMATCH_MESSAGE, "IsNonRetriable": True}
        return self._failed(item, MISMATCH_MESSAGE, details)

    def _failed(self, item: OrchestrationWorkItem, msg: str, details: Any = None) -> EpisodeCommit:
        """A commit that ends the instance Failed with `msg`, taking the episode's messages."""
        self.runner.forget(item.instance_id)
        commit = EpisodeCommit()
        inst = item.instance
        if inst is None:
            return commit
        inst = inst.copy()
        now = self.clock.now()
        ts = h.format_ts(now)
        events = [h.orchestrator_started(ts)] + [m.event for m in item.messages]
        completed = h.execution_completed(ts, -1, RuntimeStatus.Failed, msg, details)
        events += [completed, h.orchestrator_completed(ts)]
        inst.runtime_status = RuntimeStatus.Failed
        inst.output = msg
        inst.completed_time = inst.last_updated_time = now
        commit.instance = inst
        commit.history.append((inst.execution_id, events))
        return commit

    # ------------------------------------------------------------------ activities
    async def lock_activities(self, limit: int) -> list[ActivityWorkItem]:
        items: list[ActivityWorkItem] = []
        while len(items) < limit:
            ai = await self.store.lock_next_activity(self.clock.now(), self.lock_for)
            if ai is None:
                break
            items.append(ai)
        return items

    async def execute_activity(
        self, item: ActivityWorkItem, before_reply: Callable[[], None] | None = None
    ) -> None:
        msg = item.message
        ev = msg.event
        name = str(ev.get("Name"))
        timeline.current_instance.set(msg.instance_id)  # this runs in a task of its own
        scheduled_by = from_dtfx(ev.get("ParentTraceContext"))
        began = spans.now_ns()
        with timeline.span("activity", name):
            outcome = await self._run(name, _activity_input(ev.get("Input")), scheduled_by)
        spans.activity_ran(ev, msg.instance_id, outcome.trace, began, None if outcome.ok else outcome.reason)
        ts = h.format_ts(self.clock.now())
        sid = int(ev["EventId"])
        if outcome.ok:
            resp = h.task_completed(ts, sid, outcome.result)
        else:
            resp = h.task_failed(ts, sid, outcome.reason or "", outcome.details)
        if before_reply is not None:
            before_reply()
        try:
            with timeline.span("reply", name):
                await self.store.complete_activity(
                    item, OrchestrationMessage(msg.instance_id, resp, execution_id=msg.execution_id)
                )
        except LockLostError:
            log.warning("activity %s for %s outlived its lease; result dropped", name, msg.instance_id)
        except Exception:  # noqa: BLE001 - the activity will be delivered again (at-least-once)
            log.exception("could not store the result of activity %s for %s", name, msg.instance_id)
            try:
                await self.store.abandon_activity(item)
            except Exception:  # noqa: BLE001 - the lease will expire instead
                log.exception("could not abandon activity %s for %s", name, msg.instance_id)

    async def _run(self, name: str, input_text: str | None, trace: TraceContext | None) -> ActivityOutcome:
        fake = self.activity_overrides.get(name.lower())
        if fake is not None:
            return await run_activity(
                name,
                fake,
                input_text=input_text,
                input_name=None,
                is_async=inspect.iscoroutinefunction(fake),
                wants_context=False,
                executor=self.executor,
                scheduled_by=trace,
            )
        act = self.index.activity(name)
        if act is None:
            return ActivityOutcome(ok=False, reason=unknown_activity_message(name, self.index), details=None)
        return await run_activity(
            act.name,
            act.fn,
            input_text=input_text,
            input_name=act.input_name,
            is_async=act.is_async,
            wants_context=act.wants_context,
            executor=self.executor,
            function_name=act.function_name,
            scheduled_by=trace,
        )

    # ------------------------------------------------------------------ host loop
    async def run(
        self,
        stop: asyncio.Event,
        *,
        poll_interval: float = 1.0,
        max_concurrent_activities: int = 10,
        episode_burst: int = 64,
        coalesce_window: float = 0.05,
        concurrent_checkpoints: int = 8,
    ) -> None:
        """Process work until ``stop`` is set. Episodes run one at a time (the SDK's replay is synchronous
        CPU work, on the one orchestrator thread); activities run concurrently up to
        ``max_concurrent_activities``.

        Checkpoints of different instances overlap, up to ``concurrent_checkpoints``: the next instance's
        episode runs while the last one's history batch is in flight, so the dispatcher is not bound by one
        storage round trip per episode. An instance stays locked until its own checkpoint is done, so its
        episodes still follow one another; only episodes of different instances overlap.

        Fan-in coalescing: when an instance's only new messages are activity results while this worker is
        still running other activities of that instance, its episode is held back (lock kept, at most
        ``coalesce_window`` seconds) so one episode takes many results instead of replaying a large
        history once per result. Only timing changes; every message is still processed in order."""
        running: set[asyncio.Task[None]] = set()
        holding: set[asyncio.Task[None]] = set()
        committing: set[asyncio.Task[None]] = set()
        wake = asyncio.Event()

        def committed(task: asyncio.Task[None]) -> None:
            committing.discard(task)
            if not task.cancelled() and task.exception() is not None:
                # Its instance was released (process_orchestration): the episode is redone from storage.
                log.error("checkpoint failed", exc_info=task.exception())

        def keep(task_coro: Any) -> None:
            t = asyncio.create_task(task_coro)
            holding.add(t)
            t.add_done_callback(holding.discard)

        def launch(ai: ActivityWorkItem) -> None:
            if self.disabled_activity(ai):
                keep(self._abandon_activity_later(ai, stop))
                return
            iid = ai.message.instance_id
            self._inflight[iid] = self._inflight.get(iid, 0) + 1
            done = False

            def release() -> None:
                nonlocal done
                if done:
                    return
                done = True
                left = self._inflight.get(iid, 1) - 1
                if left <= 0:
                    self._inflight.pop(iid, None)
                    ev = self._drained.pop(iid, None)
                    if ev is not None:
                        ev.set()
                else:
                    self._inflight[iid] = left

            task = asyncio.create_task(self.execute_activity(ai, release))
            task.add_done_callback(lambda _t: release())
            running.add(task)
            task.add_done_callback(running.discard)

        async def hold(item: OrchestrationWorkItem) -> None:
            if self._inflight.get(item.instance_id):
                ev = self._drained.setdefault(item.instance_id, asyncio.Event())
                try:
                    await asyncio.wait_for(ev.wait(), coalesce_window)
                except TimeoutError:
                    pass
            await self.store.abandon_orchestration(item)
            wake.set()

        while not stop.is_set():
            progressed = False
            try:
                # activities first, so the pool stays full and fan-in coalescing sees them in flight
                free = max_concurrent_activities - len(running)
                if free > 0:
                    for ai in await self.lock_activities(free):
                        launch(ai)
                        progressed = True
                for _ in range(episode_burst):
                    began = time.time()
                    item = await self.store.lock_next_orchestration(self.clock.now(), self.lock_for)
                    if item is None:
                        break
                    if (tl := timeline.get()) is not None:
                        tl.add(began, time.time(), "lock", str(len(item.messages)), item.instance_id)
                    progressed = True
                    if self._should_hold(item, coalesce_window):
                        t = asyncio.create_task(hold(item))
                        holding.add(t)
                        t.add_done_callback(holding.discard)
                        continue
                    self._held_since.pop(item.instance_id, None)
                    if self.versioning.failure is FailureStrategy.REJECT and self.refuses(item):
                        # Left for another host, as DTFx abandons the work item: its messages come
                        # back after a pause, so a host that may not run it does not spin on it.
                        keep(self._abandon_later(item, stop))
                        continue
                    if self.disabled_entity(item):
                        keep(self._abandon_later(item, stop))
                        continue
                    if len(committing) >= concurrent_checkpoints:
                        await asyncio.wait(committing, return_when=asyncio.FIRST_COMPLETED)
                    task = asyncio.create_task(self.process_orchestration(item))
                    committing.add(task)
                    task.add_done_callback(committed)
                    await asyncio.sleep(0)
                free = max_concurrent_activities - len(running)
                if free > 0:
                    for ai in await self.lock_activities(free):
                        launch(ai)
                        progressed = True
            except Exception:  # noqa: BLE001 - a store hiccup must not end the worker
                log.exception("worker iteration failed; retrying")
                await asyncio.sleep(poll_interval)
                continue
            if progressed:
                continue
            # With every activity slot busy, waiting activity work is not ours to take: sleep until other
            # work is due or one of our activities finishes (and frees a slot), instead of spinning on it.
            slots_free = len(running) < max_concurrent_activities
            delay = poll_interval
            nxt = await self.store.next_visible_time(activities=slots_free)
            if nxt is not None:
                delay = max(0.0, min(poll_interval, (nxt - self.clock.now()).total_seconds()))
            wake.clear()
            waiter = asyncio.ensure_future(self.store.wait_for_work(delay))
            stopper = asyncio.ensure_future(stop.wait())
            woken = asyncio.ensure_future(wake.wait())
            wakers: set[asyncio.Future[Any]] = {waiter, stopper, woken}
            if not slots_free:
                wakers |= running
            wakers |= committing  # a finished checkpoint may release an instance with waiting messages
            with timeline.span("wait", f"{delay:.3f}"):
                await asyncio.wait(wakers, return_when=asyncio.FIRST_COMPLETED)
            for f in (waiter, stopper, woken):
                f.cancel()
        if running or holding or committing:
            await asyncio.gather(*running, *holding, *committing, return_exceptions=True)

    async def _abandon_later(self, item: OrchestrationWorkItem, stop: asyncio.Event) -> None:
        await _pause(stop)
        await self.store.abandon_orchestration(item)

    async def _abandon_activity_later(self, item: ActivityWorkItem, stop: asyncio.Event) -> None:
        await _pause(stop)
        await self.store.abandon_activity(item)

    def _should_hold(self, item: OrchestrationWorkItem, window: float) -> bool:
        iid = item.instance_id
        if window <= 0 or not self._inflight.get(iid):
            return False
        if any(m.event["EventType"] not in (5, 6) for m in item.messages):
            return False
        now = time.monotonic()
        since = self._held_since.setdefault(iid, now)
        return now - since < window


async def _pause(stop: asyncio.Event) -> None:
    """REJECTED_PAUSE_SECONDS, cut short when the host stops (held work goes back at once)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), REJECTED_PAUSE_SECONDS)


def _activity_input(raw: Any) -> str | None:
    """TaskScheduled.Input is DTFx's JSON array of the one string parameter; the activity gets element 0."""
    if raw is None:
        return None
    try:
        arr = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    if isinstance(arr, list) and arr:
        first = arr[0]
        return first if isinstance(first, str) or first is None else json.dumps(first)
    return str(raw)
