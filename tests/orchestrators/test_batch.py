"""`orchestrators/batch.py`: reading the rest of the batch that completed a `task_all`, on the SDK's own
history objects (a real `DurableOrchestrationContext` built from a crafted history)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import azure.durable_functions as df

from booking import CANCEL_REQUESTED
from devhost import history as h
from orchestrators.batch import raised_behind_all_of

TS = "2024-01-01T00:00:00.000000Z"
TRIPS = [SimpleNamespace(id=0), SimpleNamespace(id=1)]  # two sub-orchestrations, as the SDK numbered them


def context_of(*batches: list[tuple[str, Any]]) -> df.DurableOrchestrationContext:
    """A context whose history is these batches, each opened by an OrchestratorStarted."""
    events = []
    for batch in batches:
        events.append(h.orchestrator_started(TS))
        for kind, value in batch:
            if kind == "done":
                events.append(h.sub_orchestration_completed(TS, value, '"ok"'))
            elif kind == "failed":
                events.append(h.sub_orchestration_failed(TS, value, "boom", None))
            elif kind == "activity done":
                events.append(h.task_completed(TS, value, '"ok"'))
            else:
                events.append(h.event_raised(TS, value, "{}"))
        events.append(h.orchestrator_completed(TS))
    return df.DurableOrchestrationContext(
        history=events, instanceId="b-1", isReplaying=False, parentInstanceId=None
    )


def cancelled(context: df.DurableOrchestrationContext) -> bool:
    return raised_behind_all_of(context, TRIPS, CANCEL_REQUESTED)


def test_a_cancel_behind_the_last_result_in_its_batch_is_found():
    assert cancelled(context_of([("done", 0)], [("done", 1), ("raised", CANCEL_REQUESTED)]))


def test_a_cancel_in_a_later_batch_is_not():
    # The booking went on (asked for its payment) in the batch of the last result; a replay must decide so
    # again although its history now holds the later cancel.
    assert not cancelled(context_of([("done", 0), ("done", 1)], [("raised", CANCEL_REQUESTED)]))


def test_only_the_batch_of_the_result_that_completed_all_counts():
    # A cancel behind the first result only: the SDK handed it over before the last result came.
    assert not cancelled(context_of([("done", 0), ("raised", CANCEL_REQUESTED)], [("done", 1)]))
    assert cancelled(context_of([("done", 1), ("done", 0), ("raised", CANCEL_REQUESTED)]))


def test_other_events_in_between_do_not_hide_the_cancel():
    batch = [("done", 1), ("raised", "PaymentSucceeded"), ("activity done", 7), ("raised", CANCEL_REQUESTED)]
    assert cancelled(context_of([("done", 0)], batch))


def test_a_first_failure_completes_all_of_them():
    # `task_all` fails with its first failure, before the other results: its batch is the one read.
    assert cancelled(context_of([("failed", 0), ("raised", CANCEL_REQUESTED)], [("done", 1)]))
    assert not cancelled(context_of([("failed", 0)], [("done", 1), ("raised", CANCEL_REQUESTED)]))


def test_names_are_compared_exactly_as_the_sdk_matches_them():
    assert not cancelled(context_of([("done", 0), ("done", 1), ("raised", CANCEL_REQUESTED.lower())]))


def test_results_of_other_tasks_do_not_count():
    assert not cancelled(context_of([("done", 0), ("done", 5), ("raised", CANCEL_REQUESTED)]))


def test_nothing_is_found_before_all_are_done():
    assert not cancelled(context_of([("done", 0), ("raised", CANCEL_REQUESTED)]))
