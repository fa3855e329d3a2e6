"""Vectors 01-09 and 12: each orchestrator of app.py driven episode by episode through the DFApp handle
with a context in the extension's wire shape (history.py), and the handle's answer recorded verbatim."""

import copy
import datetime as dt
import inspect
import json
import os
from pathlib import Path

import azure.functions as func

from tests.devhost.engine.vectors.recorder import app as vec_app
from tests.devhost.engine.vectors.recorder.history import H, ts
from tests.devhost.engine.vectors.recorder.versions import SDK

FUNCS = {f.get_function_name(): f for f in vec_app.app.get_functions()}
OUT = Path(".")  # set by record()


def run(orch_name, ctx):
    handle = FUNCS[orch_name].get_user_function()
    body = json.dumps(ctx)
    try:
        res = handle(func.OrchestrationContext(body))  # exactly what the worker passes
        return {"returned": json.loads(res)}
    except Exception as e:
        msg = str(e)
        label = "\n\n$OutOfProcData$:"
        i = msg.find(label)
        return {
            "raised": {
                "exception_type": type(e).__name__,
                "message_before_label": msg[:i] if i >= 0 else msg,
                "outOfProcData": json.loads(msg[i + len(label) :]) if i >= 0 else None,
            }
        }


def src(name):
    return inspect.getsource(FUNCS[name].get_user_function().orchestrator_function)


def write(fname, title, orch, steps, notes):
    doc = {
        "title": title,
        "sdk": SDK,
        "orchestrator_name": orch,
        "orchestrator_source": src(orch),
        "how_produced": "context JSON built by tools/hist.py in the extension's wire shape; "
        "passed as azure.functions.OrchestrationContext(json) to the DFApp-registered handle; "
        "output recorded verbatim (json.loads of the returned string or of the $OutOfProcData$ part of the raised exception)",
        "notes": notes,
        "steps": steps,
    }
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump(doc, f, indent=2)


def step(desc, orch, h, **kw):
    ctx = h.context(**kw)
    ctx_copy = copy.deepcopy(ctx)
    return {"description": desc, "context": ctx_copy, "result": run(orch, ctx)}


def S(v):  # df_dumps of a plain value
    return json.dumps(v)


def SJ(v):  # a value passed through the .NET string round-trip (client start / action input)
    return json.dumps(json.dumps(v))


# ---------------------------------------------------------------- 01 chaining
def v01():
    steps = []
    h = H(
        "chaining", input_json=SJ(None)
    )  # python client start_new(name) with no input -> body omitted -> Input "null"
    h.raw_input = "null"
    h.events[1]["Input"] = "null"
    steps.append(
        step("Episode 1: first invocation (history = OrchestratorStarted, ExecutionStarted).", "chaining", h)
    )
    # host turns action[0] into TaskScheduled EventId 0
    h.task_scheduled(0, "say_hello", '["\\"Tokyo\\""]')
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_completed(0, S("Hello Tokyo!"))
    steps.append(step("Episode 2: TaskCompleted(TaskScheduledId=0) arrived.", "chaining", h))
    h.task_scheduled(1, "say_hello", '["\\"Seattle\\""]')
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_completed(1, S("Hello Seattle!"))
    h.task_scheduled(
        2, "say_hello", '["\\"London\\""]'
    )  # (would be written by this episode; shown to keep ids clear)
    h.events.pop()
    steps.append(step("Episode 3: second result arrived.", "chaining", h))
    h.task_scheduled(2, "say_hello", '["\\"London\\""]')
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_completed(2, S("Hello London!"))
    steps.append(
        step("Episode 4 (final): all three completed -> isDone true, output is the list.", "chaining", h)
    )
    write(
        "01_chaining.json",
        "Function chaining: three sequential activities",
        "chaining",
        steps,
        [
            "Actions list is cumulative: every invocation returns ALL actions scheduled so far (append-only), not just new ones.",
            "Schema V3 (schemaVersion 2): actions is [[a0, a1, ...]] (one inner list).",
            'Activity input in the action is df_dumps(value) -> a JSON *string* containing JSON text ("\\"Tokyo\\"").',
            'TaskCompleted.Result must be the JSON text of the activity return value (e.g. "\\"Hello Tokyo!\\"").',
            "TaskScheduled.Input shown as DTFx stores it (JSON array of the single .NET parameter); the Python SDK ignores TaskScheduled entirely.",
        ],
    )


# ---------------------------------------------------------------- 02 fan-out/fan-in
def v02():
    steps = []
    h = H("fan_out_fan_in")
    steps.append(step("Episode 1", "fan_out_fan_in", h))
    h.task_scheduled(0, "get_work_items", '["null"]')
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_completed(0, S([1, 2, 3]))
    steps.append(
        step(
            "Episode 2: work items [1,2,3] returned -> one WhenAll compound action with 3 CallActivity children (ids 1,2,3).",
            "fan_out_fan_in",
            h,
        )
    )
    for i, v in zip((1, 2, 3), (1, 2, 3), strict=True):
        h.task_scheduled(i, "process_item", json.dumps([json.dumps(v)]))
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_completed(2, S(20))
    h.task_completed(1, S(10))
    steps.append(
        step(
            "Episode 3: two of three completed (out of order) -> still waiting, same actions.",
            "fan_out_fan_in",
            h,
        )
    )
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_completed(3, S(30))
    steps.append(
        step(
            "Episode 4: last one completed -> isDone, output 60 (results are in task order, not completion order).",
            "fan_out_fan_in",
            h,
        )
    )
    # V1 schema for comparison
    h1 = H("fan_out_fan_in")
    h1.task_scheduled(0, "get_work_items", '["null"]')
    h1.orchestrator_completed()
    h1.mark_played()
    h1.orchestrator_started()
    h1.task_completed(0, S([1, 2, 3]))
    steps.append(
        step(
            "Same as episode 2 but upperSchemaVersion=0 and no upperSchemaVersionNew (legacy V1): no schemaVersion key; actions is a list of per-yield lists, the fan-out is an inner list of 3 actions.",
            "fan_out_fan_in",
            h1,
            upper=0,
            upper_new=None,
        )
    )
    write(
        "02_fan_out_fan_in.json",
        "Fan-out/fan-in with task_all (WhenAll compound action, V3 vs V1 schema)",
        "fan_out_fan_in",
        steps,
        [
            "Ids are assigned depth-first in the order children appear in compoundActions (1,2,3).",
            "WhenAll actionType 12, compoundActions = child action JSONs.",
            "A failed child fails the WhenAll with the FIRST failure (in history order).",
        ],
    )


# ---------------------------------------------------------------- 03 task_any timer + external event
def v03():
    steps = []
    h = H("approval")
    r = step(
        "Episode 1: timer (id 0) and external-event wait scheduled as one WhenAny compound action.",
        "approval",
        h,
    )
    steps.append(r)
    fire_at = r["result"]["returned"]["actions"][0][0]["compoundActions"][1]["fireAt"]
    h.timer_created(0, fire_at.replace("000Z", "Z") if False else fire_at)
    h.orchestrator_completed()
    h.mark_played()
    base = copy.deepcopy(h)
    h.orchestrator_started()
    h.event_raised("Approval", S({"by": "alice"}))
    steps.append(
        step(
            "Episode 2a: EventRaised 'Approval' arrives first -> orchestrator cancels the timer (isCanceled true on the ORIGINAL CreateTimer action) and completes.",
            "approval",
            h,
        )
    )
    h2 = copy.deepcopy(base)
    h2.orchestrator_started()
    h2.event_raised("approval", S({"by": "bob"}))
    steps.append(
        step(
            "Episode 2b: EventRaised with different case 'approval' -> NOT matched (SDK matches names case-sensitively); still waiting.",
            "approval",
            h2,
        )
    )
    h3 = copy.deepcopy(base)
    h3.t = dt.datetime(2024, 1, 1, 1, 0, 2, tzinfo=dt.UTC)
    h3.orchestrator_started()
    h3.timer_fired(0, fire_at)
    steps.append(step("Episode 2c: TimerFired(TimerId=0) arrives first -> 'timed out'.", "approval", h3))
    write(
        "03_task_any_timer_event.json",
        "task_any over an external event and a durable timer (with cancel)",
        "approval",
        steps,
        [
            "WaitForExternalEvent consumes NO sequence id; CreateTimer consumes one.",
            "fireAt is formatted '%Y-%m-%dT%H:%M:%S.%fZ' from current_utc_datetime (= timestamp of the first OrchestratorStarted) + 1h.",
            "Cancel takes effect by mutating the already-emitted CreateTimer action: the host must treat isCanceled=true as 'this timer no longer keeps the instance alive'.",
            "EventRaised.Input is the JSON text of the payload; the SDK df_loads it.",
        ],
    )


# ---------------------------------------------------------------- 04 retry
def v04():
    steps = []
    h = H("with_retry")
    steps.append(
        step("Episode 1: one CallActivityWithRetry action (actionType 1) with retryOptions.", "with_retry", h)
    )
    reason = "Activity function 'flaky' failed:  ValueError: transient"
    details = '{"$type":"System.Exception, System.Private.CoreLib","ClassName":"System.Exception","Message":" ValueError: transient"}'
    h.task_scheduled(0, "flaky", '["\\"x\\""]')
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_failed(0, reason, details)
    steps.append(
        step(
            "Episode 2: attempt #1 (id 0) failed -> SDK now waits for a timer with id 1; actions unchanged (retry timers/reschedules are NOT emitted as actions).",
            "with_retry",
            h,
        )
    )
    fire1 = ts(h.t + dt.timedelta(seconds=5))
    h.timer_created(1, fire1)
    h.orchestrator_completed()
    h.mark_played()
    h.t = h.t + dt.timedelta(seconds=5)
    h.orchestrator_started()
    h.timer_fired(1, fire1)
    steps.append(
        step("Episode 3: TimerFired(TimerId=1) -> SDK expects re-attempt with id 2.", "with_retry", h)
    )
    h.task_scheduled(2, "flaky", '["\\"x\\""]')
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_failed(2, reason, details)
    fire2 = ts(h.t + dt.timedelta(seconds=5))
    h.timer_created(3, fire2)
    h.orchestrator_completed()
    h.mark_played()
    h.t = h.t + dt.timedelta(seconds=5)
    h.orchestrator_started()
    h.timer_fired(3, fire2)
    h.task_scheduled(4, "flaky", '["\\"x\\""]')
    h.orchestrator_completed()
    h.mark_played()
    snapshot = copy.deepcopy(h)
    h.orchestrator_started()
    h.task_completed(4, S("ok on attempt 3"))
    steps.append(
        step(
            "Episode 6: attempt #3 (id 4) succeeded -> done. Ids: 0 attempt1, 1 timer, 2 attempt2, 3 timer, 4 attempt3.",
            "with_retry",
            h,
        )
    )
    g = snapshot
    g.orchestrator_started()
    g.task_failed(4, reason, details)
    steps.append(
        step(
            "Alternative episode 6: attempt #3 (last, max_number_of_attempts=3) FAILED -> SDK does NOT fail yet; it waits for one more timer (id 5).",
            "with_retry",
            g,
        )
    )
    fire3 = ts(g.t)  # newer DTFx: dummy back-compat timer fires immediately
    g.timer_created(5, fire3)
    g.orchestrator_completed()
    g.mark_played()
    g.orchestrator_started()
    g.timer_fired(5, fire3)
    steps.append(
        step(
            "Episode 7: the extra timer (id 5) fired -> error surfaces: uncaught, so handle() RAISES with $OutOfProcData$ state (isDone false, error = Reason + ' \\n ' + Details).",
            "with_retry",
            g,
        )
    )
    write(
        "04_retry.json",
        "call_activity_with_retry: TaskFailed -> TimerCreated/TimerFired -> TaskScheduled sequence, incl. extra timer after last attempt",
        "with_retry",
        steps,
        [
            "Python RetryOptions only serializes firstRetryIntervalInMilliseconds and maxNumberOfAttempts.",
            "The SDK never reads TimerCreated/TaskScheduled; it only needs TaskFailed/TimerFired/TaskCompleted with the right TaskScheduledId/TimerId in history order.",
            "Delay = firstRetryInterval * backoffCoefficient^(attempt-1), capped by maxRetryInterval (extension default 6 days); Python can only set firstRetryInterval, so delay is constant.",
            "After the final failed attempt DTFx creates one more timer (older DTFx: full delay; current DTFx: fireAt = now, 'Dummy timer for back-compat'); the SDK requires its TimerFired before raising.",
        ],
    )


# ---------------------------------------------------------------- 05 sub-orchestrator
def v05():
    steps = []
    h = H("parent", instance_id="parent-1", execution_id="aaaabbbbccccddddeeeeffff00001111")
    steps.append(step("Episode 1: CallSubOrchestrator (actionType 2) without instanceId.", "parent", h))
    h.suborch_created(0, "child", "aaaabbbbccccddddeeeeffff00001111:0", SJ({"n": 1}))
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.suborch_completed(0, S({"child_result": 1}))
    steps.append(
        step(
            "Episode 2: SubOrchestrationInstanceCompleted(TaskScheduledId=0) -> second call with explicit instanceId 'my-child-id' (id 1).",
            "parent",
            h,
        )
    )
    h.suborch_created(1, "child", "my-child-id", SJ({"n": 2}))
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.suborch_failed(1, "Orchestrator function 'child' failed: bad n", '{"details":"..."}')
    steps.append(
        step(
            "Episode 3: second child FAILED (SubOrchestrationInstanceFailed) and is not caught -> handle() raises; error = Reason + ' \\n ' + Details.",
            "parent",
            h,
        )
    )
    # child side context
    c = H(
        "child",
        instance_id="aaaabbbbccccddddeeeeffff00001111:0",
        execution_id="22223333444455556666777788889999",
        input_json=SJ({"n": 1}),
        parent={
            "Name": "parent",
            "Version": "",
            "TaskScheduleId": 0,
            "OrchestrationInstance": {
                "InstanceId": "parent-1",
                "ExecutionId": "aaaabbbbccccddddeeeeffff00001111",
            },
        },
    )
    steps.append(
        {
            "description": "Child's first context (NOT executed: 'child' is not defined in vec_app). Shows parentInstanceId and the string-wrapped input the child receives.",
            "context": c.context(),
            "result": None,
        }
    )
    write(
        "05_sub_orchestrator.json",
        "call_sub_orchestrator: created/completed/failed events and default instance ids",
        "parent",
        steps,
        [
            "Default sub-orchestration instance id assigned by DTFx = '<parent ExecutionId>:<sequence id>' (decimal).",
            "SubOrchestrationInstanceCompleted.Result is the child's output JSON; SubOrchestrationInstanceFailed has Reason/Details like TaskFailed.",
            "The child's ExecutionStarted has ParentInstance {Name, Version, TaskScheduleId, OrchestrationInstance{InstanceId, ExecutionId}}; context.parentInstanceId = parent instance id.",
        ],
    )


# ---------------------------------------------------------------- 06 custom status
def v06():
    steps = []
    h = H("custom_status")
    steps.append(
        step(
            "Episode 1: customStatus set before first yield appears in the returned state.",
            "custom_status",
            h,
        )
    )
    h.task_scheduled(0, "say_hello", '["\\"Tokyo\\""]')
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.task_completed(0, S("Hello Tokyo!"))
    steps.append(step("Episode 2: final customStatus.", "custom_status", h))
    write(
        "06_custom_status.json",
        "set_custom_status",
        "custom_status",
        steps,
        [
            "customStatus is emitted only when truthy (0, '', {}, [] and False are dropped by OrchestratorState.to_json).",
            "The extension calls SetCustomStatus(customStatus) only when non-null, so a later None does not clear a previous value.",
        ],
    )


# ---------------------------------------------------------------- 07 activity exception
def v07():
    steps = []
    reason = "Activity function 'boom' failed:  ValueError: kaboom"
    details = '{"$type":"System.Exception, System.Private.CoreLib","ClassName":"System.Exception","Message":" ValueError: kaboom","Data":null,"InnerException":null}'
    for orch in ("catch_activity_error", "uncaught_activity_error"):
        h = H(orch)
        h.task_scheduled(0, "boom", '["null"]')
        h.orchestrator_completed()
        h.mark_played()
        h.orchestrator_started()
        h.task_failed(0, reason, details)
        steps.append(step(f"{orch}: TaskFailed(TaskScheduledId=0).", orch, h))
    doc_orch = "catch_activity_error"
    write(
        "07_activity_exception.json",
        "Exception in an activity surfaced to the orchestrator (caught and uncaught)",
        doc_orch,
        steps,
        [
            'SDK turns TaskFailed into Exception(f"{Reason} \\n {Details}") thrown into the generator.',
            "Uncaught: handle() raises Exception('<error>\\n\\n$OutOfProcData$:<state json>'); the worker reports it as a failed invocation; the extension extracts the JSON after the label, replays the actions and fails the instance with output \"Orchestrator function '<name>' failed: <state.error>\".",
            'Second step\'s orchestrator source: `r = yield context.call_activity("boom", None); return r`.',
        ],
    )


# ---------------------------------------------------------------- 08 continue_as_new
def v08():
    steps = []
    h = H("counter", input_json=SJ(2))
    r = step(
        "Generation with input 2 (ExecutionStarted.Input is the JSON string '\"2\"' as produced by client start_new/continue_as_new).",
        "counter",
        h,
    )
    steps.append(r)
    fire = r["result"]["returned"]["actions"][0][0]["fireAt"]
    h.timer_created(0, fire)
    h.orchestrator_completed()
    h.mark_played()
    h.t = h.t + dt.timedelta(seconds=10)
    h.orchestrator_started()
    h.timer_fired(0, fire)
    steps.append(
        step(
            "Timer fired -> continue_as_new(3): isDone true, ContinueAsNew action (actionType 4), no output key.",
            "counter",
            h,
        )
    )
    write(
        "08_continue_as_new.json",
        "continue_as_new",
        "counter",
        steps,
        [
            "After isDone with a ContinueAsNew action the host writes ContinueAsNew/ExecutionCompleted(ContinuedAsNew), then starts a fresh history [OrchestratorStarted, ExecutionStarted(Input=<action.input as JSON string>), ...] under the same instanceId with a new ExecutionId.",
            "continue_as_new increments the SDK sequence counter but DTFx's does not (irrelevant since nothing follows).",
        ],
    )


# ---------------------------------------------------------------- 09 events buffered
def v09():
    steps = []
    h = H("two_events")
    steps.append(step("Episode 1: waiting for 'A' (WaitForExternalEvent action, no id).", "two_events", h))
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.event_raised("B", S("b-payload"))
    steps.append(
        step(
            "Episode 2: 'B' raised BEFORE anyone waits for it -> buffered (SDK warns 'Potential duplicate Task completion for TaskId: B'); still waiting for A.",
            "two_events",
            h,
        )
    )
    h.orchestrator_completed()
    h.mark_played()
    h.orchestrator_started()
    h.event_raised("A", S("a-payload"))
    steps.append(
        step(
            "Episode 3: 'A' raised -> code proceeds to wait for 'B', which is satisfied from the buffered event -> done.",
            "two_events",
            h,
        )
    )
    h2 = H("same_event_twice")
    h2.orchestrator_completed()
    h2.mark_played()
    h2.orchestrator_started()
    h2.event_raised("Ping", S(1))
    steps.append(
        step(
            "same_event_twice: ONE 'Ping' event in history, code waits for 'Ping' twice.",
            "same_event_twice",
            h2,
        )
    )
    h3 = H("late_waiter")
    h3.task_scheduled(0, "noop", '["null"]')
    h3.orchestrator_completed()
    h3.mark_played()
    h3.orchestrator_started()
    h3.event_raised("Ping", S(1))
    steps.append(
        step(
            "late_waiter (source below in notes): one 'Ping' arrives while the activity (id 0) is still pending, i.e. before any wait.",
            "late_waiter",
            h3,
        )
    )
    h3.orchestrator_completed()
    h3.mark_played()
    h3.orchestrator_started()
    h3.task_completed(0, S(None))
    steps.append(
        step(
            "late_waiter: activity completes; BOTH waits for 'Ping' are satisfied by the single buffered event -> output [1, 1] (SDK 1.7.0 quirk; .NET would keep waiting).",
            "late_waiter",
            h3,
        )
    )
    h4 = H("late_waiter")
    h4.task_scheduled(0, "noop", '["null"]')
    h4.orchestrator_completed()
    h4.mark_played()
    h4.orchestrator_started()
    h4.event_raised("Ping", S(1))
    h4.event_raised("Ping", S(2))
    h4.task_completed(0, S(None))
    steps.append(
        step(
            "late_waiter: TWO early 'Ping' events (1 then 2) -> output [2, 2]: buffer keeps only the LAST event per name and does not consume it.",
            "late_waiter",
            h4,
        )
    )
    write(
        "09_external_events_buffering.json",
        "External events raised before the orchestrator waits (buffering) and repeated names",
        "two_events",
        steps,
        [
            "Buffering is done by the SDK itself from history (deferred_tasks keyed by event name); the host just appends every EventRaised to history.",
            "Quirk (1.7.0): buffered (early) events live in context.deferred_tasks keyed by name: last one wins and it is not consumed, so every later wait for that name gets the same payload. Events that arrive while a wait is already open are delivered one-per-wait in history order.",
            "late_waiter source: yield context.call_activity('noop', None); a = yield context.wait_for_external_event('Ping'); b = yield context.wait_for_external_event('Ping'); return [a, b]",
        ],
    )


# ---------------------------------------------------------------- 12 long timer (V3)
def v12():
    steps = []
    h = H("long_wait")
    r = step(
        "Episode 1 (V3 + maximumShortTimerDuration 6d + longRunningTimerIntervalDuration 3d): a 10-day timer becomes a WhenAll with ONE 3-day CreateTimer child (id 0).",
        "long_wait",
        h,
    )
    steps.append(r)
    fire0 = r["result"]["returned"]["actions"][0][0]["compoundActions"][0]["fireAt"]
    h.timer_created(0, fire0)
    h.orchestrator_completed()
    h.mark_played()
    h.t = dt.datetime(2024, 1, 4, 0, 0, 1, tzinfo=dt.UTC)
    h.orchestrator_started()
    h.timer_fired(0, fire0)
    r2 = step(
        "Episode 2: first 3-day segment fired -> SDK appends a NEW CreateTimer action (id 1, +3 days from the new current time) at top level of the actions list.",
        "long_wait",
        h,
    )
    steps.append(r2)
    h2 = H("long_wait")
    steps.append(
        step(
            "Same orchestrator WITHOUT maximumShortTimerDuration/longRunningTimerIntervalDuration in the context: a single plain 10-day CreateTimer (host must support arbitrarily long timers itself).",
            "long_wait",
            h2,
            extra=False,
        )
    )
    write(
        "12_long_timer_v3.json",
        "Long timers under schema V3 (LongTimerTask splitting)",
        "long_wait",
        steps,
        [
            "Only active when replay schema >= V3 AND both duration fields are present AND fireAt - current_utc_datetime > maximumShortTimerDuration.",
            "Cancelling such a timer only flags the LongTimerTask's own action, which is never emitted; the emitted segment timers stay un-cancelled (python issue #573): the instance stays Running until the segment fires.",
            "Timespan strings use .NET TimeSpan 'c' format: [-][d.]hh:mm:ss[.fffffff].",
        ],
    )


def record(out: Path) -> None:
    global OUT
    OUT = out
    for f in (v01, v02, v03, v04, v05, v06, v07, v08, v09, v12):
        f()
