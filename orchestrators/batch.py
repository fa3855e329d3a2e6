"""What else came in the batch that woke the orchestrator: an event the SDK has not handed over yet.

A batch is what one episode received: the history events between one OrchestratorStarted and the next (the
SDK finds an episode's new events the same way: `TaskOrchestrationExecutor._find_new_events_start_index`).
The SDK (azure-functions-durable 1.7.0, `TaskOrchestrationExecutor.execute`) walks the history one event at a
time and resumes the generator as soon as the awaited task completes, so the code decides what to do next
before the later events of the same batch reach their tasks. A traveller's cancel queued behind the last
trip's result is one of those: without reading ahead the booking would ask for its payment first.

`context.histories` holds the whole history, this episode's new events included, and a batch's members are
fixed once written, so reading ahead gives the same answer in every replay of the episode.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType

# Results of an activity or a sub-orchestration, matched to their task by `TaskScheduledId` as the SDK does.
_SUCCEEDED = {HistoryEventType.TASK_COMPLETED, HistoryEventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED}
_FAILED = {HistoryEventType.TASK_FAILED, HistoryEventType.SUB_ORCHESTRATION_INSTANCE_FAILED}
_RESULTS = _SUCCEEDED | _FAILED


def raised_behind_all_of(context: df.DurableOrchestrationContext, tasks: Iterable[Any], name: str) -> bool:
    """Whether an event `name` was raised in the batch that completed `task_all(tasks)`, after the result
    that completed it (the last of them, or the first failure: `WhenAllTask.try_set_value`). Names are
    compared exactly, as the SDK matches an event to its wait (devhost/PROTOCOL.md §4.1). The tasks are
    activities or sub-orchestrations the code has already yielded (so they carry their ids)."""
    history = context.histories
    waiting = {task.id for task in tasks}
    for index, event in enumerate(history):
        if event.event_type in _RESULTS and event.TaskScheduledId in waiting:
            waiting.discard(event.TaskScheduledId)
            if not waiting or event.event_type in _FAILED:
                return _raised_later_in_batch(history, index, name)
    return False


def _raised_later_in_batch(history: list[Any], index: int, name: str) -> bool:
    for event in history[index + 1 :]:
        if event.event_type == HistoryEventType.ORCHESTRATOR_STARTED:
            return False
        if event.event_type == HistoryEventType.EVENT_RAISED and event.Name == name:
            return True
    return False
