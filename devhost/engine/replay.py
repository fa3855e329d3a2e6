"""REPLAY (PROTOCOL.md §2.5, §3): re-enact the SDK's actions against the history as DTFx + the extension's
OutOfProcOrchestrationShim do, to find the sequence ids of new work, the open-task count and completion.

The shim runs an "action coroutine" (for each top-level action: invoke it, await it, failures swallowed) while
DTFx walks the history in order; scheduling events must match what the coroutine emitted by id, completions
complete open tasks and run continuations synchronously (this is where retry timers and re-attempts consume
ids). Here that coroutine is a small callback state machine: no asyncio, linear in history length.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from devhost.history import HistoryEvent, parse_ts

SIX_DAYS = dt.timedelta(days=6)


class ReplayFailure(Exception):
    """The orchestration must fail (non-determinism, unknown function, invalid action) with this message.

    ``from_shim`` failures are thrown by the extension's shim and reported as
    "Orchestrator function '<name>' failed: <message>"; DTFx's own (non-determinism) are reported as is."""

    def __init__(self, message: str, *, from_shim: bool = True) -> None:
        super().__init__(message)
        self.from_shim = from_shim


@dataclass
class Scheduled:
    """A scheduling decision with its sequence id (becomes a history event + a message if new)."""

    kind: str  # "activity" | "timer" | "suborch" | "entitycall" | "entitysignal"
    event_id: int
    name: str = ""
    input: str | None = None  # df_dumps text (activity/sub-orchestration input)
    fire_at: dt.datetime | None = None
    instance_id: str | None = None  # sub-orchestration id, or the entity's scheduler id
    version: str | None = None  # a sub-orchestration's, as the code asked (None: the host's default)


ENTITY_KINDS = frozenset({"entitycall", "entitysignal"})


class _Task:
    __slots__ = ("done", "failed", "_callbacks")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self._callbacks: list[Callable[[_Task], None]] | None = None

    def complete(self, failed: bool = False) -> None:
        if self.done:
            return
        self.done = True
        self.failed = failed
        cbs = self._callbacks
        if cbs:
            self._callbacks = None
            for cb in cbs:
                cb(self)

    def then(self, cb: Callable[[_Task], None]) -> None:
        if self.done:
            cb(self)
        elif self._callbacks is None:
            self._callbacks = [cb]
        else:
            self._callbacks.append(cb)


_DONE = _Task()
_DONE.done = True


@dataclass
class ReplayResult:
    new_work: list[Scheduled] = field(default_factory=list)  # unmatched scheduling decisions, id order
    open_tasks: int = 0  # scheduled, not completed, not cancelled (waiters excluded)
    coroutine_done: bool = False  # the shim got through every action
    next_id: int = 0
    continue_as_new_input: Any = None
    continue_as_new: bool = False
    # EventRaised events that came after the ContinueAsNew decision in this history: DTFx (Azure Storage,
    # EventBehaviourForContinueAsNew=Carryover) hands them to the next generation (PROTOCOL.md §4.1)
    carried_events: list[HistoryEvent] = field(default_factory=list)
    terminated: bool = False


class Replayer:
    """One REPLAY over one history. ``known_activity``/``known_orchestrator`` validate names (extension's
    ``ThrowIfFunctionDoesNotExist``) and return the failure message for an unknown name, or None."""

    def __init__(
        self,
        *,
        instance_id: str,
        execution_id: str,
        check_activity: Callable[[str], str | None],
        check_orchestrator: Callable[[str], str | None],
        check_entity: Callable[[str], str | None] | None = None,
    ) -> None:
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.check_activity = check_activity
        self.check_orchestrator = check_orchestrator
        self.check_entity = check_entity
        self.seq = 0
        self.now = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.emitted: dict[int, Scheduled] = {}
        self.open: dict[int, _Task] = {}
        self.waiters: dict[str, list[_Task]] = {}  # a stack per event name (newest wait on top)
        self.buffered: dict[str, int] = {}
        self.entity_calls: dict[str, int] = {}  # request id (the response's event name) -> sequence id
        self.result = ReplayResult()
        self._pos = 0
        self._can_at = -1

    # ------------------------------------------------------------------ primitives
    def _schedule(self, s: Scheduled) -> _Task:
        self.emitted[s.event_id] = s
        t = _Task()
        self.open[s.event_id] = t
        return t

    def _timer(self, fire_at: dt.datetime) -> _Task:
        eid = self.seq
        self.seq += 1
        return self._schedule(Scheduled("timer", eid, fire_at=fire_at))

    def _activity(self, name: str, inp: str | None) -> _Task:
        msg = self.check_activity(name)
        if msg is not None:
            raise ReplayFailure(msg)
        eid = self.seq
        self.seq += 1
        return self._schedule(Scheduled("activity", eid, name=name, input=inp))

    def _suborch(self, name: str, inp: str | None, instance_id: str | None, version: str | None) -> _Task:
        msg = self.check_orchestrator(name)
        if msg is not None:
            raise ReplayFailure(msg)
        eid = self.seq
        self.seq += 1
        iid = instance_id if instance_id else f"{self.execution_id}:{eid}"
        if iid == self.instance_id:
            raise ReplayFailure(
                f"A sub-orchestration cannot use the instance ID of its parent orchestration: '{iid}'."
            )
        if iid.startswith("@"):
            raise ReplayFailure(f"Orchestration instance ids must not start with '@': '{iid}'.")
        scheduled = Scheduled("suborch", eid, name=name, input=inp, instance_id=iid, version=version)
        return self._schedule(scheduled)

    def _entity(self, action: dict[str, Any], call: bool) -> _Task:
        """CallEntity / SignalEntity: the shim sends an "op" event to the entity (one sequence id, an
        EventSent in history); a call then waits for the response event named by the request id."""
        target = str(action.get("instanceId") or "")
        pos = target.find("@", 1)
        if not target.startswith("@") or pos < 0:
            raise ReplayFailure(f"Invalid entity instance id in the orchestrator's output: {target!r}")
        if self.check_entity is not None:
            msg = self.check_entity(target[1:pos])
            if msg is not None:
                raise ReplayFailure(msg)
        eid = self.seq
        self.seq += 1
        kind = "entitycall" if call else "entitysignal"
        s = Scheduled(
            kind, eid, name=str(action.get("operation") or ""), input=action.get("input"), instance_id=target
        )
        if call:
            return self._schedule(s)
        self.emitted[eid] = s
        return _DONE  # fire and forget

    def _wait_event(self, name: str) -> _Task:
        key = name.lower()  # the .NET shadow context matches event names case-insensitively
        t = _Task()
        if self.buffered.get(key):
            self.buffered[key] -= 1
            t.complete()
        else:
            self.waiters.setdefault(key, []).append(t)
        return t

    def _retry(self, attempt: Callable[[], _Task], options: dict[str, Any]) -> _Task:
        """DTFx RetryInterceptor: attempt, on failure a timer (delay or, after the last attempt, 'now'),
        then the next attempt; the final error surfaces only after that extra timer."""
        try:
            first = float(options["firstRetryIntervalInMilliseconds"])
            max_attempts = int(options["maxNumberOfAttempts"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ReplayFailure(f"Invalid retryOptions: {options!r}") from exc
        if first <= 0:
            raise ReplayFailure("Value for firstRetryInterval must be greater than TimeSpan.Zero.")
        if max_attempts <= 0:
            raise ReplayFailure("Value for maxNumberOfAttempts must be greater than zero.")
        backoff = float(options.get("backoffCoefficient") or 1.0)
        max_interval = options.get("maxRetryIntervalInMilliseconds")
        cap = dt.timedelta(milliseconds=float(max_interval)) if max_interval else SIX_DAYS
        timeout_ms = options.get("retryTimeoutInMilliseconds")
        timeout = dt.timedelta(milliseconds=float(timeout_ms)) if timeout_ms else None
        first_attempt = self.now
        outer = _Task()
        count = 0

        def run_attempt() -> None:
            attempt().then(on_attempt)

        def on_attempt(t: _Task) -> None:
            nonlocal count
            if not t.failed:
                outer.complete()
                return
            if count + 1 >= max_attempts:
                # "Dummy timer for back-compat": fires immediately, then the task fails.
                self._timer(self.now).then(lambda _t: outer.complete(failed=True))
                return
            if timeout is not None and self.now >= first_attempt + timeout:
                outer.complete(failed=True)
                return
            delay = min(dt.timedelta(milliseconds=first * backoff**count), cap)
            count += 1
            if delay <= dt.timedelta(0):
                outer.complete(failed=True)
                return
            self._timer(self.now + delay).then(lambda _t: run_attempt())

        run_attempt()
        return outer

    def _all(self, tasks: list[_Task]) -> _Task:
        outer = _Task()
        remaining = len(tasks)
        if remaining == 0:
            outer.complete()
            return outer
        failed = False

        def one(t: _Task) -> None:
            nonlocal remaining, failed
            remaining -= 1
            failed = failed or t.failed
            if remaining == 0:
                outer.complete(failed)

        for t in tasks:
            t.then(one)
        return outer

    def _any(self, tasks: list[_Task]) -> _Task:
        outer = _Task()
        if not tasks:
            outer.complete()
        for t in tasks:
            t.then(lambda _t: outer.complete())
        return outer

    # ------------------------------------------------------------------ actions
    def invoke(self, a: dict[str, Any]) -> _Task:
        at = a.get("actionType")
        if at == 0:
            return self._activity(a["functionName"], a.get("input"))
        if at == 1:
            name, inp = a["functionName"], a.get("input")
            return self._retry(lambda: self._activity(name, inp), a.get("retryOptions") or {})
        if at == 2:
            return self._suborch(a["functionName"], a.get("input"), a.get("instanceId"), a.get("version"))
        if at == 3:
            name, inp, iid, ver = a["functionName"], a.get("input"), a.get("instanceId"), a.get("version")
            return self._retry(lambda: self._suborch(name, inp, iid, ver), a.get("retryOptions") or {})
        if at == 4:
            self.result.continue_as_new = True
            self.result.continue_as_new_input = a.get("input")
            self._can_at = self._pos
            return _DONE
        if at == 5:
            try:
                fire_at = parse_ts(a["fireAt"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ReplayFailure(f"Invalid fireAt in CreateTimer action: {a.get('fireAt')!r}") from exc
            eid = self.seq
            t = self._timer(fire_at)
            if a.get("isCanceled"):
                # The shim cancels the CancellationTokenSource: the DTFx timer leaves the open tasks and
                # completes as canceled; its TimerCreated is still written and its TimerFired ignored.
                del self.open[eid]
                t.complete(failed=True)
            return t
        if at == 6:
            return self._wait_event(str(a.get("externalEventName", "")))
        if at == 11:
            return self._any([self.invoke(c) for c in a.get("compoundActions") or []])
        if at == 12:
            return self._all([self.invoke(c) for c in a.get("compoundActions") or []])
        if at == 7:
            return self._entity(a, call=True)
        if at == 9:
            return self._entity(a, call=False)
        if at == 10:
            raise ReplayFailure("Scheduled entity signals (action type 10) are not supported by devhost.")
        if at == 8:
            raise ReplayFailure("Durable HTTP (call_http) is not supported by devhost.")
        raise ReplayFailure(f"Unknown action type {at!r} in the orchestrator's output.")

    def _run_actions(self, actions: Sequence[Sequence[dict[str, Any]]], schema: int) -> None:
        if schema >= 1:
            if len(actions) != 1 and actions:
                raise ReplayFailure(
                    f"With OOProc schema ReplayPatchV1, expected actions array to be of length 1 in outer "
                    f"layer but got size: {len(actions)}"
                )
            flat = list(actions[0]) if actions else []
            idx = 0

            def step(_t: _Task | None = None) -> None:
                nonlocal idx
                while idx < len(flat):
                    t = self.invoke(flat[idx])
                    idx += 1
                    if not t.done:
                        t.then(step)
                        return
                self.result.coroutine_done = True

            step()
        else:
            sets = list(actions)
            pos = 0

            def step_v1(_t: _Task | None = None) -> None:
                nonlocal pos
                while pos < len(sets):
                    tasks = [self.invoke(a) for a in sets[pos]]
                    pos += 1
                    if tasks:
                        w = self._any(tasks)
                        if not w.done:
                            w.then(step_v1)
                            return
                self.result.coroutine_done = True

            step_v1()

    @property
    def current_position(self) -> int:
        """The index of the history event being walked (where a `ReplayFailure` was raised)."""
        return self._pos

    # ------------------------------------------------------------------ history walk
    def run(self, history: Sequence[HistoryEvent], state: dict[str, Any] | None) -> ReplayResult:
        actions = (state or {}).get("actions") or []
        schema = int((state or {}).get("schemaVersion") or 0)
        started = False
        self._can_at = -1
        for pos, e in enumerate(history):
            self._pos = pos
            et = e["EventType"]
            if et == 12:
                self.now = parse_ts(e["Timestamp"])
            elif et == 0:
                if not started:
                    started = True
                    self._run_actions(actions, schema)
            elif et == 4 or et == 7 or et == 10:
                self._match(e)
            elif et == 14:
                self._match_sent(e)
            elif et == 5 or et == 6 or et == 8 or et == 9:
                t = self.open.pop(e.get("TaskScheduledId", -1), None)
                if t is not None:
                    t.complete(failed=(et == 6 or et == 9))
            elif et == 11:
                t = self.open.pop(e.get("TimerId", -1), None)
                if t is not None:
                    t.complete()
            elif et == 15 and str(e.get("Name") or "") in self.entity_calls:
                # An entity's response: completes the call (failed when it carries an exception type).
                t = self.open.pop(self.entity_calls.pop(str(e["Name"])), None)
                if t is not None:
                    t.complete(failed=_is_error_response(e.get("Input")))
            elif et == 15:
                key = str(e.get("Name") or "").lower()
                q = self.waiters.get(key)
                if q:
                    # The extension keeps a name's open waits on a stack: the newest gets the event, so a
                    # wait abandoned by an earlier WhenAny (the common loop) cannot swallow it.
                    q.pop().complete()
                else:
                    self.buffered[key] = self.buffered.get(key, 0) + 1
            elif et == 3:
                self.result.terminated = True
        r = self.result
        if r.continue_as_new and self._can_at >= 0:
            r.carried_events = [e for e in history[self._can_at + 1 :] if e["EventType"] == 15]
        r.new_work = [self.emitted[k] for k in sorted(self.emitted)]
        r.open_tasks = len(self.open)
        r.next_id = self.seq
        return r

    def _match_sent(self, e: HistoryEvent) -> None:
        eid = e.get("EventId", -1)
        s = self.emitted.get(eid)
        if s is None or s.kind not in ENTITY_KINDS or s.instance_id != e.get("InstanceId"):
            raise ReplayFailure(
                f"Non-Deterministic workflow detected: A previous execution of this orchestration scheduled "
                f"a send event task with sequence ID {eid} and name '{e.get('Name')}', but the current "
                f"replay execution hasn't (yet?) scheduled this task. Was a change made to the orchestrator "
                f"code after this instance had already started running?",
                from_shim=False,
            )
        del self.emitted[eid]
        if s.kind == "entitycall":
            try:
                request_id = str(json.loads(e.get("Input") or "")["id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ReplayFailure(f"EventSent {eid} does not hold an entity request") from exc
            self.entity_calls[request_id] = eid

    def _match(self, e: HistoryEvent) -> None:
        eid = e.get("EventId", -1)
        kind = {4: "activity", 7: "suborch", 10: "timer"}[e["EventType"]]
        s = self.emitted.get(eid)
        label = {"activity": "an activity task", "suborch": "a sub-orchestration", "timer": "a durable timer"}
        if (
            s is None
            or s.kind != kind
            or (kind != "timer" and s.name.lower() != str(e.get("Name", "")).lower())
        ):
            what = label[kind]
            name = f" and name '{e.get('Name')}'" if kind != "timer" else ""
            raise ReplayFailure(
                f"Non-Deterministic workflow detected: A previous execution of this orchestration scheduled "
                f"{what} with sequence ID {eid}{name}, but the current replay execution hasn't (yet?) "
                f"scheduled this task. Was a change made to the orchestrator code after this instance had "
                f"already started running?",
                from_shim=False,
            )
        del self.emitted[eid]


def _is_error_response(text: Any) -> bool:
    """A ResponseMessage with ``exceptionType`` is an error (ResponseMessage.IsException)."""
    try:
        body = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("exceptionType") is not None
