"""Helpers that build orchestration-trigger context JSON in the exact shape the
Durable extension (OrchestrationTriggerAttributeBindingProvider.OrchestrationContextToString)
produces: DTFx HistoryEvent objects serialized by Newtonsoft (PascalCase DataMembers,
EventType as integer, Timestamp ISO-8601 with 'Z')."""

import datetime as dt
import json


def ts(t):  # .NET style UTC timestamp, 7 fractional digits trimmed like Newtonsoft "FFFFFFF"
    s = t.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return s + "Z"


class H:
    def __init__(
        self,
        name,
        instance_id="inst-0001",
        execution_id="0123456789abcdef0123456789abcdef",
        input_json=None,
        start=dt.datetime(2024, 1, 1, 0, 0, 0, tzinfo=dt.UTC),
        parent=None,
    ):
        self.t = start
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.parent = parent
        self.events = []
        self.name = name
        # raw ExecutionStarted.Input is the DTFx-serialized input (a JSON text)
        self.raw_input = "null" if input_json is None else input_json
        self.orchestrator_started()
        self.add(
            0,
            OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
            ParentInstance=parent,
            Name=name,
            Version="",
            Input=self.raw_input,
            Tags=None,
            Correlation=None,
            ParentTraceContext=None,
            ScheduledStartTime=None,
            Generation=0,
        )

    def tick(self, secs=1):
        self.t = self.t + dt.timedelta(seconds=secs)
        self._msg = 0
        return self.t

    def msg_time(self):
        """Messages (completions, raised events) were created before the episode's
        OrchestratorStarted; stamp them just before it, keeping their order."""
        self._msg = getattr(self, "_msg", 0) + 1
        return self.t - dt.timedelta(milliseconds=500) + dt.timedelta(milliseconds=self._msg)

    def add(self, etype, event_id=-1, is_played=False, at=None, **fields):
        e = dict(fields)
        e.update(
            {"EventType": etype, "EventId": event_id, "IsPlayed": is_played, "Timestamp": ts(at or self.t)}
        )
        self.events.append(e)
        return e

    # --- episode delimiters
    def orchestrator_started(self):
        self.tick()
        return self.add(12)

    def orchestrator_completed(self):
        return self.add(13)

    # --- events produced from actions
    def task_scheduled(self, eid, name, input_json):
        return self.add(4, eid, Name=name, Version="", Input=input_json, ParentTraceContext=None, Tags=None)

    def timer_created(self, eid, fire_at):
        return self.add(10, eid, FireAt=fire_at)

    def suborch_created(self, eid, name, instance_id, input_json):
        return self.add(
            7,
            eid,
            Name=name,
            Version="",
            InstanceId=instance_id,
            Input=input_json,
            ClientSpanId=None,
            Tags=None,
        )

    # --- completion events (messages)
    def task_completed(self, sid, result_json):
        return self.add(5, at=self.msg_time(), TaskScheduledId=sid, Result=result_json)

    def task_failed(self, sid, reason, details, failure_details=None):
        return self.add(
            6,
            at=self.msg_time(),
            TaskScheduledId=sid,
            Reason=reason,
            Details=details,
            FailureDetails=failure_details,
        )

    def timer_fired(self, tid, fire_at):
        return self.add(11, at=self.msg_time(), TimerId=tid, FireAt=fire_at)

    def event_raised(self, name, input_json):
        return self.add(15, at=self.msg_time(), Name=name, Input=input_json, ParentTraceContext=None)

    def suborch_completed(self, sid, result_json):
        return self.add(8, at=self.msg_time(), TaskScheduledId=sid, Result=result_json)

    def suborch_failed(self, sid, reason, details):
        return self.add(
            9, at=self.msg_time(), TaskScheduledId=sid, Reason=reason, Details=details, FailureDetails=None
        )

    def mark_played(self):
        """Before a new episode: everything already in history counts as 'past'.
        DTFx persists IsPlayed=true on events that the executor processed (completion
        events, ExecutionStarted); OrchestratorStarted/Completed and the
        TaskScheduled/TimerCreated/SubOrchestrationInstanceCreated rows stay false."""
        for e in self.events:
            if e["EventType"] in (0, 5, 6, 8, 9, 11, 15, 3, 14):
                e["IsPlayed"] = True

    def context(self, upper=1, upper_new=2, input_override=None, extra=True):
        """upper/upper_new: what the extension sends (SchemaVersion.V2=1, V3=2).
        'input' is the JToken parse of ExecutionStarted.Input."""
        ctx = {
            "history": self.events,
            "input": json.loads(self.raw_input) if input_override is None else input_override,
            "instanceId": self.instance_id,
            "isReplaying": any(e["EventType"] == 0 and e["IsPlayed"] for e in self.events),
            "parentInstanceId": self.parent["OrchestrationInstance"]["InstanceId"] if self.parent else None,
            "upperSchemaVersion": upper,
        }
        if upper_new is not None:
            ctx["upperSchemaVersionNew"] = upper_new
        if extra:
            ctx["longRunningTimerIntervalDuration"] = "3.00:00:00"
            ctx["maximumShortTimerDuration"] = "6.00:00:00"
            ctx["defaultHttpAsyncRequestSleepTimeMillseconds"] = 30000
        return ctx
