"""The replay gate: exported orchestration histories replayed against an app's orchestrators as they are
now, through the official SDK, to find the changes that would break instances already running.

An exported history is one execution of one instance in a small, documented JSON file (`FORMAT`): its id,
orchestrator name, version and the DTFx history events exactly as devhost stores them. Replaying it runs
the orchestrator over the whole history, as an episode after the last event would, and walks the history
with devhost's re-enactment of the extension (`engine.replay.Replayer`). A divergence is what the runtime
would fail the instance for: the code no longer schedules, at some sequence number, what the history
recorded there (another activity, sub-orchestration or timer, or none), an orchestrator that is gone, or
orchestrator code that now raises. Inputs are not compared (the runtime does not compare them either), and
new work scheduled after the recorded end is not a divergence: a running instance simply goes on to it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devhost.app_index import AppIndex
from devhost.engine.episode import (
    CONTEXT_TAIL,
    invoke_orchestrator,
    unknown_activity_message,
    unknown_orchestrator_message,
)
from devhost.engine.replay import Replayer, ReplayFailure, Scheduled
from devhost.history import EventType, HistoryEvent

FORMAT = "devhost-history/1"
# What each scheduling event type is called in a report.
_SCHEDULED = {
    EventType.TaskScheduled: "activity",
    EventType.SubOrchestrationInstanceCreated: "sub-orchestration",
    EventType.TimerCreated: "timer",
}


class HistoryFileError(ValueError):
    """A file that is not an exported history; the message is one line naming what is wrong."""


@dataclass(frozen=True)
class ExportedHistory:
    instance_id: str
    name: str
    version: str
    execution_id: str
    history: list[HistoryEvent]

    def to_json(self) -> str:
        document = {
            "format": FORMAT,
            "instanceId": self.instance_id,
            "name": self.name,
            "version": self.version,
            "executionId": self.execution_id,
            "history": self.history,
        }
        return json.dumps(document, indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ExportedHistory:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise HistoryFileError(f"not JSON ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise HistoryFileError(f'not an exported history (no "format": "{FORMAT}")')
        history = document.get("history")
        fields = [document.get(k) for k in ("instanceId", "name", "executionId")]
        if not all(isinstance(f, str) and f for f in fields) or not isinstance(history, list):
            raise HistoryFileError("instanceId, name, executionId and history are required")
        if not all(isinstance(e, dict) and isinstance(e.get("EventType"), int) for e in history):
            raise HistoryFileError("every history event needs an integer EventType")
        if not any(e["EventType"] == EventType.ExecutionStarted for e in history):
            raise HistoryFileError("truncated: the history has no ExecutionStarted event")
        instance_id, name, execution_id = (str(f) for f in fields)
        return cls(instance_id, name, str(document.get("version") or ""), execution_id, history)


@dataclass(frozen=True)
class Verdict:
    """How one history replayed: `divergence` is None when the code still does what the history says."""

    instance_id: str
    name: str
    version: str
    divergence: str | None = None

    @property
    def ok(self) -> bool:
        return self.divergence is None


def replay(index: AppIndex, exported: ExportedHistory) -> Verdict:
    """Replay one history; `HistoryFileError` when the app has no orchestrator of its name."""
    def verdict(divergence: str | None = None) -> Verdict:
        return Verdict(exported.instance_id, exported.name, exported.version, divergence)

    orchestrator = index.orchestrator(exported.name)
    if orchestrator is None:
        raise HistoryFileError(f"from another app: it has no orchestrator named {exported.name!r}")
    history = exported.history
    state, error = invoke_orchestrator(orchestrator.handle, _context(exported))
    if state is None:
        # The SDK could not run the code at all (an orchestrator's own exception comes back in the state).
        return verdict(f"the orchestrator no longer runs: {error}")
    replayer = Replayer(
        instance_id=exported.instance_id,
        execution_id=exported.execution_id,
        check_activity=lambda n: None if index.activity(n) else unknown_activity_message(n, index),
        check_orchestrator=lambda n: (
            None if index.orchestrator(n) else unknown_orchestrator_message(n, index)
        ),
    )
    try:
        replayer.run(history, state)
    except ReplayFailure as failure:
        return verdict(_explain(history, replayer, failure))
    return verdict()


def _context(exported: ExportedHistory) -> str:
    """The orchestration context the SDK receives for an episode after the last recorded event."""
    started = next(e for e in exported.history if e["EventType"] == EventType.ExecutionStarted)
    parent = (started.get("ParentInstance") or {}).get("OrchestrationInstance") or {}
    played = [dict(e, IsPlayed=True) for e in exported.history]
    input_text = started.get("Input")
    return (
        f'{{"history": {json.dumps(played)}, "input": {input_text if input_text is not None else "null"}, '
        f'"instanceId": {json.dumps(exported.instance_id)}, "isReplaying": true, '
        f'"parentInstanceId": {json.dumps(parent.get("InstanceId"))}, ' + CONTEXT_TAIL
    )


def _explain(history: Sequence[HistoryEvent], replayer: Replayer, failure: ReplayFailure) -> str:
    """The first divergence in words: where in the history, what it recorded, what the code asks for."""
    position = replayer.current_position
    event = history[position] if 0 <= position < len(history) else {}
    kind = _SCHEDULED.get(event.get("EventType", -1))
    if kind is None:
        return str(failure)
    sequence = event.get("EventId", -1)
    recorded = f"{kind} {event.get('Name')!r}" if kind != "timer" else "a timer"
    asked = _describe(replayer.emitted.get(sequence))
    return (
        f"history event {position} (sequence {sequence}) recorded {recorded}; the code now schedules "
        f"{asked} there"
    )


def _describe(scheduled: Scheduled | None) -> str:
    if scheduled is None:
        return "nothing"
    if scheduled.kind == "timer":
        return "a timer"
    kind = "activity" if scheduled.kind == "activity" else "sub-orchestration"
    shown = (scheduled.input or "")[:120]
    return f"{kind} {scheduled.name!r} with input {shown}"


def read_history_file(path: Path) -> ExportedHistory:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryFileError(f"cannot be read ({exc.__class__.__name__})") from None
    return ExportedHistory.from_json(text)


def exported_from(
    instance_id: str, name: str, version: str, history: Sequence[HistoryEvent]
) -> ExportedHistory:
    started = next((e for e in history if e["EventType"] == EventType.ExecutionStarted), None)
    execution = ((started or {}).get("OrchestrationInstance") or {}).get("ExecutionId") or ""
    return ExportedHistory(instance_id, name, version, str(execution), [dict(e) for e in history])
