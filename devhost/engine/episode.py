"""One orchestration episode (PROTOCOL.md §2.5): from a locked work item to an ``EpisodeCommit``.

History ← [OrchestratorStarted] + the batch's events; build the extension's context JSON (PROTOCOL.md
§2.1); call the orchestrator handle exactly as the worker does; REPLAY the returned actions into new
scheduling events and messages; decide completion (Completed / Failed / ContinuedAsNew / Terminated /
still Running).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from devhost import history as h
from devhost import spans
from devhost.app_index import AppIndex
from devhost.clock import Clock
from devhost.engine import entities
from devhost.engine.replay import ENTITY_KINDS, Replayer, ReplayFailure, ReplayResult
from devhost.execlog import DURABLE_REASON, execution
from devhost.history import TERMINAL_STATUSES, EventType, HistoryEvent, RuntimeStatus
from devhost.store.base import (
    ActivityMessage,
    EpisodeCommit,
    InstanceRecord,
    OrchestrationMessage,
    OrchestrationWorkItem,
)
from devhost.tracing import from_dtfx, to_dtfx
from devhost.versioning import Versioning

log = logging.getLogger("devhost.engine")

OOP_LABEL = "\n\n$OutOfProcData$:"
CUSTOM_STATUS_LIMIT = 16 * 1024
# The context fields after the history, input and ids, as the extension sends them (PROTOCOL.md §2).
CONTEXT_TAIL = (
    '"upperSchemaVersion": 1, "upperSchemaVersionNew": 2, '
    '"longRunningTimerIntervalDuration": "3.00:00:00", "maximumShortTimerDuration": "6.00:00:00", '
    '"defaultHttpAsyncRequestSleepTimeMillseconds": 30000}'
)


class OrchestratorFailure(Exception):
    """An orchestrator's error text, for the Executed (Failed) log line."""


def unknown_activity_message(name: str, index: AppIndex) -> str:
    msg = (
        f"The function '{name}' doesn't exist, is disabled, or is not an activity function. Additional info: "
    )
    names = [a.name for a in index.activities.values()]
    if names:
        return msg + "The following are the known activity functions: '" + "', '".join(names) + "'."
    return msg + "No activity functions are currently registered!"


def unknown_orchestrator_message(name: str, index: AppIndex) -> str:
    msg = (
        f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
        "Additional info: "
    )
    names = [o.name for o in index.orchestrators.values()]
    if names:
        return msg + "The following are the known orchestrator functions: '" + "', '".join(names) + "'."
    return msg + "No orchestrator functions are currently registered!"


def invoke_orchestrator(handle: Callable[[Any], str], context_json: str) -> tuple[dict[str, Any] | None, str]:
    """Call the SDK handle like the worker; returns (OrchestratorState or None, error message or "").

    Warnings the SDK emits during replay (e.g. "Potential duplicate Task completion" for buffered events)
    are logged, never raised: the worker does not turn them into errors, even where a test runner would."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            text = handle(func.OrchestrationContext(context_json))
        for w in caught:
            log.debug("orchestrator warning: %s", w.message)
    except Exception as exc:  # noqa: BLE001 - an orchestrator failure is data, not a crash
        msg = str(exc)
        i = msg.find(OOP_LABEL)
        if i >= 0:
            try:
                state = json.loads(msg[i + len(OOP_LABEL) :])
                if isinstance(state, dict):
                    return state, str(state.get("error") or msg[:i])
            except ValueError:
                pass
        return None, msg or type(exc).__name__
    try:
        state = json.loads(text)
    except (TypeError, ValueError):
        return None, "Out of proc orchestrators must return a valid JSON schema"
    if not isinstance(state, dict):
        return None, "The data returned by the out-of-process function execution was not valid json."
    return state, ""


@dataclass
class _Generation:
    """What running one execution produced (continue-as-new may chain a second one in the same item)."""

    execution_id: str
    events: list[HistoryEvent] = field(default_factory=list)
    can_input: str | None = None
    continued: bool = False
    carried: list[HistoryEvent] = field(default_factory=list)


@dataclass
class EpisodeStats:
    sdk_seconds: float = 0.0


class EpisodeRunner:
    """Turns work items into commits. Keeps a bounded cache of each instance's serialized history so
    that an episode serializes only its new events (replay cost stays in the SDK)."""

    # The cache is bounded by the characters it holds as well as by entries: a waiting instance keeps its
    # whole history's text here, so thousands parked (payment waits of an hour) would otherwise hold
    # ~5 KB each for an episode that may never come; least recently run goes first, and a miss costs one
    # json.dumps of the history.
    CACHE_MAX = 8192
    CACHE_MAX_CHARS = 4 * 1024 * 1024

    def __init__(
        self,
        index: AppIndex,
        clock: Clock,
        timer: Callable[[], float] | None = None,
        versioning: Versioning | None = None,
    ) -> None:
        self.index = index
        self.clock = clock
        self.versioning = versioning or Versioning()
        self._cache: dict[str, tuple[str, int, str]] = {}
        self._cache_chars = 0
        self._timer = timer
        self.stats = EpisodeStats()
        self.entities = entities.EntityRunner(index, clock)

    # ------------------------------------------------------------------ context JSON
    def _history_json(self, iid: str, execution_id: str, hist: Sequence[HistoryEvent]) -> str:
        hit = self._cache.get(iid)
        if hit is not None and hit[0] == execution_id and hit[1] <= len(hist):
            frag = hit[2]
            if hit[1] < len(hist):
                extra = json.dumps(list(hist[hit[1] :]))[1:-1]
                frag = f"{frag},{extra}" if frag else extra
            return frag
        return json.dumps(list(hist))[1:-1] if hist else ""

    def _remember(self, iid: str, execution_id: str, count: int, frag: str) -> None:
        self.forget(iid)
        if len(frag) > self.CACHE_MAX_CHARS:
            return
        while self._cache and (
            len(self._cache) >= self.CACHE_MAX or self._cache_chars + len(frag) > self.CACHE_MAX_CHARS
        ):
            self.forget(next(iter(self._cache)))  # insertion order = least recently remembered
        self._cache[iid] = (execution_id, count, frag)
        self._cache_chars += len(frag)

    def forget(self, iid: str) -> None:
        hit = self._cache.pop(iid, None)
        if hit is not None:
            self._cache_chars -= len(hit[2])

    def cache_size(self) -> tuple[int, int]:
        """(instances, characters) in the serialized-history cache."""
        return len(self._cache), self._cache_chars

    # ------------------------------------------------------------------ episode
    def run(self, item: OrchestrationWorkItem) -> EpisodeCommit:
        inst = item.instance
        if entities.is_entity(item.instance_id):
            return self.entities.run(item.instance_id, inst, item.messages)
        commit = EpisodeCommit()
        if inst is None:
            log.debug("dropping %d message(s) for unknown instance %s", len(item.messages), item.instance_id)
            return commit
        now = self.clock.now()
        ts = h.format_ts(now)
        hist: Sequence[HistoryEvent] = item.history
        batch: list[HistoryEvent] = []
        consumed: list[OrchestrationMessage] = []
        suspended = inst.runtime_status is RuntimeStatus.Suspended
        for m in item.messages:
            ev = m.event
            et = ev["EventType"]
            if et == EventType.ExecutionStarted:
                oi = ev.get("OrchestrationInstance") or {}
                if oi.get("ExecutionId") != inst.execution_id or hist:
                    consumed.append(m)  # a start for an execution that is not (or no longer) pending
                    continue
            elif m.execution_id is not None and m.execution_id != inst.execution_id:
                consumed.append(m)  # stale: addressed to a previous execution
                continue
            if inst.runtime_status in TERMINAL_STATUSES:
                consumed.append(m)  # DTFx discards messages for completed instances
                continue
            consumed.append(m)
            batch.append(ev)
            if et == EventType.ExecutionSuspended and not suspended:
                suspended = True
                break  # later messages stay queued until resumed
            if et == EventType.ExecutionResumed:
                suspended = False
        item.messages = consumed
        if not batch:
            return commit
        if not hist and not any(e["EventType"] == EventType.ExecutionStarted for e in batch):
            log.warning("instance %s has messages but no ExecutionStarted; dropping them", inst.instance_id)
            return commit

        inst = inst.copy()
        new_hist = [h.orchestrator_started(ts)] + batch
        terminated = next((e for e in batch if e["EventType"] == EventType.ExecutionTerminated), None)
        started = hist[1] if len(hist) > 1 else next(e for e in batch if e["EventType"] == 0)
        if not hist:
            spans.stamp_orchestration(started, now)  # the orchestration span's id, stored with the start
        if inst.runtime_status is RuntimeStatus.Pending:
            inst.runtime_status = RuntimeStatus.Running
        inst.last_updated_time = now

        if terminated is not None:
            reason = terminated.get("Input")
            done = [h.as_persisted(e) for e in new_hist]
            done.append(h.execution_completed(ts, -1, RuntimeStatus.Terminated, reason))
            done.append(h.orchestrator_completed(ts))
            self._finish(inst, RuntimeStatus.Terminated, reason, now)
            commit.history.append((inst.execution_id, done))
            self._notify_parent(commit, started, inst, ts)
            commit.instance = inst
            self.forget(inst.instance_id)
            return commit
        if suspended:
            # Suspended: record the events, run nothing until resumed (the SDK ignores 19/20 anyway).
            inst.runtime_status = RuntimeStatus.Suspended
            inst.output = next(
                (e.get("Reason") for e in reversed(batch) if e["EventType"] == EventType.ExecutionSuspended),
                inst.output,
            )
            commit.history.append((inst.execution_id, new_hist + [h.orchestrator_completed(ts)]))
            commit.instance = inst
            self.forget(inst.instance_id)
            return commit
        if any(e["EventType"] == EventType.ExecutionResumed for e in batch):
            inst.runtime_status = RuntimeStatus.Running

        gen = self._execute(inst, hist, new_hist, started, commit, now, ts)
        commit.history.append((gen.execution_id, gen.events))
        while gen.continued:
            gen = self._continue_as_new(inst, started, gen, commit, now)
            started = gen.events[1]
            commit.history.append((gen.execution_id, gen.events))
        commit.instance = inst
        return commit

    def _execute(
        self,
        inst: InstanceRecord,
        hist: Sequence[HistoryEvent],
        new_hist: list[HistoryEvent],
        started: HistoryEvent,
        commit: EpisodeCommit,
        now: dt.datetime,
        ts: str,
    ) -> _Generation:
        iid, xid = inst.instance_id, inst.execution_id
        gen = _Generation(xid)
        orch = self.index.orchestrator(inst.name)
        state: dict[str, Any] | None = None
        error = ""
        failure: str | None = None
        result: ReplayResult | None = None
        if orch is None or self.index.is_disabled(orch.function_name):
            # A disabled orchestrator is registered without an executor: the extension logs the
            # unknown-function message as a warning and fails the instance with it (PROTOCOL.md §38).
            unknown = unknown_orchestrator_message(inst.name, self.index)
            log.warning("%s: %s", iid, unknown)
            failure = f"Orchestrator function '{inst.name}' failed: " + unknown
        else:
            past = self._history_json(iid, xid, hist)
            new_frag = json.dumps(new_hist)[1:-1]
            hist_frag = f"{past},{new_frag}" if past else new_frag
            parent = (started.get("ParentInstance") or {}).get("OrchestrationInstance") or {}
            input_text = started.get("Input")
            ctx = (
                f'{{"history": [{hist_frag}], "input": {input_text if input_text is not None else "null"}, '
                f'"instanceId": {json.dumps(iid)}, '
                f'"isReplaying": {"true" if started.get("IsPlayed") else "false"}, '
                f'"parentInstanceId": {json.dumps(parent.get("InstanceId"))}, ' + CONTEXT_TAIL
            )
            t0 = self._timer() if self._timer else 0.0
            with execution(orch.function_name, str(uuid.uuid4()), DURABLE_REASON) as run:
                state, error = invoke_orchestrator(orch.handle, ctx)
                if error:
                    run.failed(OrchestratorFailure(error))
            if self._timer:
                self.stats.sdk_seconds += self._timer() - t0
            replayer = Replayer(
                instance_id=iid,
                execution_id=xid,
                check_activity=lambda n: (
                    None if self.index.activity(n) else unknown_activity_message(n, self.index)
                ),
                check_orchestrator=lambda n: (
                    None if self.index.orchestrator(n) else unknown_orchestrator_message(n, self.index)
                ),
                check_entity=lambda n: (
                    None if self.index.entity(n) else entities.unknown_entity_message(n, self.index)
                ),
            )
            try:
                result = replayer.run(list(hist) + new_hist, state)
            except ReplayFailure as rf:
                failure = f"Orchestrator function '{inst.name}' failed: {rf}" if rf.from_shim else str(rf)
                result = None
            if state is not None and failure is None:
                cs = state.get("customStatus")
                if cs is not None:
                    text = h.compact_json(cs)
                    if len(text.encode("utf-16-le")) > CUSTOM_STATUS_LIMIT:
                        failure = (
                            f"Orchestrator function '{inst.name}' failed: The UTF-16 size of the "
                            f"JSON-serialized payload must not exceed 16 KB. The current payload size is "
                            f"{len(text.encode('utf-16-le')) / 1024:.2f} KB."
                        )
                    else:
                        inst.custom_status = text

        persisted = [h.as_persisted(e) for e in new_hist]
        events = persisted
        next_id = 0
        if result is not None:
            next_id = result.next_id
            events.extend(self._dispatch(inst, started, result, commit, ts))
        status: RuntimeStatus | None = None
        output: str | None = None
        if failure is not None:
            status, output = RuntimeStatus.Failed, failure
        elif result is not None and result.coroutine_done and (state is None or error):
            status = RuntimeStatus.Failed
            output = f"Orchestrator function '{inst.name}' failed: {error}"
        elif result is not None and state is None:
            status, output = RuntimeStatus.Failed, f"Orchestrator function '{inst.name}' failed: {error}"
        elif (
            result is not None
            and state is not None
            and state.get("isDone")
            and result.coroutine_done
            and result.open_tasks == 0
        ):
            if result.continue_as_new:
                status = RuntimeStatus.ContinuedAsNew
                gen.continued = True
                gen.can_input = result.continue_as_new_input
                gen.carried = [dict(e, IsPlayed=False) for e in result.carried_events]
                output = None
            else:
                status = RuntimeStatus.Completed
                output = h.compact_json(state["output"]) if "output" in state else None
        if status is None:
            events.append(h.orchestrator_completed(ts))
            gen.events = events
            self._remember_gen(iid, xid, hist, events)
            return gen
        if status is RuntimeStatus.ContinuedAsNew:
            can = gen.can_input
            events.append(h.continue_as_new(ts, next_id, h.compact_json(can) if can is not None else None))
        else:
            events.append(h.execution_completed(ts, next_id, status, output))
        events.append(h.orchestrator_completed(ts))
        gen.events = events
        self.forget(iid)
        if status is not RuntimeStatus.ContinuedAsNew:
            self._finish(inst, status, output, now)
            self._notify_parent(commit, started, inst, ts)
        else:
            inst.runtime_status = RuntimeStatus.ContinuedAsNew
        return gen

    def _remember_gen(
        self, iid: str, xid: str, hist: Sequence[HistoryEvent], events: list[HistoryEvent]
    ) -> None:
        past = self._history_json(iid, xid, hist)
        frag = json.dumps(events)[1:-1]
        self._remember(iid, xid, len(hist) + len(events), f"{past},{frag}" if past else frag)

    def _continue_as_new(
        self,
        inst: InstanceRecord,
        started: HistoryEvent,
        prev: _Generation,
        commit: EpisodeCommit,
        now: dt.datetime,
    ) -> _Generation:
        """DTFx: a new execution in the same work item; history [OrchestratorStarted, ExecutionStarted,
        <carried-over events>, OrchestratorCompleted] and then the new generation runs at once."""
        ts = h.format_ts(self.clock.now())
        xid = uuid.uuid4().hex
        input_json = h.compact_json(prev.can_input) if prev.can_input is not None else None
        es = h.execution_started(
            ts,
            instance_id=inst.instance_id,
            execution_id=xid,
            name=inst.name,
            input_json=input_json,
            parent=started.get("ParentInstance"),
            generation=int(started.get("Generation") or 0) + 1,
            version=str(started.get("Version") or ""),
            # DTFx copies the trace context into the continued execution's ExecutionStarted.
            trace=started.get("ParentTraceContext"),
        )
        inst.continue_as_new(xid, input_json)
        head = [h.orchestrator_started(ts), es, *prev.carried, h.orchestrator_completed(ts)]
        ts2 = h.format_ts(self.clock.now())
        gen = self._execute(inst, head, [h.orchestrator_started(ts2)], es, commit, now, ts2)
        gen.events = [h.as_persisted(e) for e in head] + gen.events
        return gen

    def _finish(
        self, inst: InstanceRecord, status: RuntimeStatus, output: str | None, now: dt.datetime
    ) -> None:
        inst.runtime_status = status
        inst.output = output
        inst.completed_time = now
        inst.last_updated_time = now

    def _dispatch(
        self, inst: InstanceRecord, started: HistoryEvent, r: ReplayResult, commit: EpisodeCommit, ts: str
    ) -> list[HistoryEvent]:
        """New work → scheduling events (id order) + outbound messages."""
        out: list[HistoryEvent] = []
        iid, xid = inst.instance_id, inst.execution_id
        orchestration_trace = from_dtfx(started.get("ParentTraceContext"))  # PROTOCOL.md §35
        for s in r.new_work:
            if s.kind == "activity":
                # DTFx: a new client span of the orchestration's trace is the activity's parent.
                trace = to_dtfx(orchestration_trace.child()) if orchestration_trace else None
                ev = h.task_scheduled(ts, s.event_id, s.name, s.input, trace=trace)
                out.append(ev)
                commit.activities.append(ActivityMessage(iid, xid, ev))
            elif s.kind == "timer":
                assert s.fire_at is not None
                fire = h.format_ts(s.fire_at)
                out.append(h.timer_created(ts, s.event_id, fire))
                commit.messages.append(
                    OrchestrationMessage(
                        iid, h.timer_fired(fire, s.event_id, fire), execution_id=xid, visible_at=s.fire_at
                    )
                )
            elif s.kind in ENTITY_KINDS:
                assert s.instance_id is not None
                request = entities.request_message(
                    s.name,
                    # The shim hands the SDK's input text to RequestMessage.SetInput, which serializes it
                    # again: the entity receives a JSON string holding the JSON text.
                    h.compact_json(s.input) if s.input is not None else None,
                    signal=s.kind == "entitysignal",
                    parent_instance=iid,
                    parent_execution=xid,
                    timestamp=ts,
                )
                out.append(
                    entities.event_sent(ts, s.event_id, s.instance_id, entities.REQUEST_EVENT, request)
                )
                commit.messages.append(
                    OrchestrationMessage(s.instance_id, h.event_raised(ts, entities.REQUEST_EVENT, request))
                )
            else:
                assert s.instance_id is not None
                child_input = h.compact_json(s.input) if s.input is not None else None
                # DTFx: the child's ParentTraceContext is a new client span of this orchestration's trace,
                # whose id the SubOrchestrationInstanceCreated event keeps as ClientSpanId.
                client = orchestration_trace.child() if orchestration_trace else None
                # The version the code gave, else this host's default: a child does not inherit its
                # parent's (PROTOCOL.md §36).
                version = self.versioning.version_for(s.version)
                span = client.span_id if client else None
                created = h.sub_orchestration_created(
                    ts, s.event_id, s.name, s.instance_id, child_input, span, version
                )
                out.append(created)
                child_xid = uuid.uuid4().hex
                name = s.name  # as the caller spelled it; lookups are case-insensitive (EXT)
                parent = {
                    "Name": inst.name,
                    "Version": inst.version,
                    "TaskScheduleId": s.event_id,
                    "OrchestrationInstance": {"InstanceId": iid, "ExecutionId": xid},
                }
                start = h.execution_started(
                    ts,
                    instance_id=s.instance_id,
                    execution_id=child_xid,
                    name=name,
                    input_json=child_input,
                    parent=parent,
                    version=version,
                    trace=to_dtfx(client) if client else None,
                )
                now = h.parse_ts(ts)
                child = InstanceRecord.pending(
                    s.instance_id, name, child_xid, now, child_input, version=version, parent_instance_id=iid
                )
                commit.new_instances.append(child)
                commit.messages.append(OrchestrationMessage(s.instance_id, start, execution_id=child_xid))
        return out

    def _notify_parent(
        self, commit: EpisodeCommit, started: HistoryEvent, inst: InstanceRecord, ts: str
    ) -> None:
        parent = started.get("ParentInstance")
        if not parent:
            return
        pinst = parent.get("OrchestrationInstance") or {}
        sid = int(parent.get("TaskScheduleId", -1))
        if inst.runtime_status is RuntimeStatus.Completed:
            ev = h.sub_orchestration_completed(ts, sid, inst.output)
        else:
            reason = inst.output
            details = (
                f"Message: {reason}, StackTrace: " if inst.runtime_status is RuntimeStatus.Failed else None
            )
            ev = h.sub_orchestration_failed(ts, sid, reason, details)
        commit.messages.append(
            OrchestrationMessage(str(pinst.get("InstanceId")), ev, execution_id=pinst.get("ExecutionId"))
        )
