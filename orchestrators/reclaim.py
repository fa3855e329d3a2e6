"""Booking steps that leave nothing behind: a step that gave up after an attempt whose outcome is
unknown (a timeout after the request was sent) may still have booked. It is re-sent with the same
order — the same idempotency key, so the supplier answers the booking it made or makes it now — as
patiently as an undo and waiting longer for each answer, and whatever comes back is undone (as
patiently, by the step's own undo) before the trip falls back or fails.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from booking.activity_io import UndoOrder
from booking.orchestration import RetryPolicy
from booking.trip_steps import SupplierStep
from booking.wire import WireModel
from orchestrators.breaker import Circuit
from orchestrators.steps import MUST_FINISH, Attempts, Steps, log, with_backoff


def book_step(
    context: df.DurableOrchestrationContext,
    step: SupplierStep[Any],
    order: WireModel,
    policy: RetryPolicy,
    *,
    stop: Any = None,
    circuit: Circuit | None = None,
) -> Steps[Attempts]:
    """`with_backoff` for a booking activity (stopped early by `stop`); when it gives up with an
    outcome unknown, the booking that may have been made is reclaimed and undone before the caller
    sees it gave up — stopped or not: a cancel must not leave a booking behind either. The reclaim
    never asks the `circuit`: like an undo, it must finish whatever the breaker thinks."""
    attempts = yield from with_backoff(context, step.book, order, policy, stop=stop, circuit=circuit)
    if attempts.gave_up and attempts.outcome_unknown:
        if circuit is not None:
            circuit.forget_fallback_clearance()
        yield from reclaim(context, step, order, policy)
    return attempts


def reclaim(
    context: df.DurableOrchestrationContext, step: SupplierStep[Any], order: WireModel, policy: RetryPolicy
) -> Steps[bool]:
    """Re-send `order` (same key) until the supplier answers, then undo the booking it names; True
    when nothing is left behind. Both keep trying for `MUST_FINISH`, like every undo."""
    log(context, logging.WARNING, "%s: outcome unknown after giving up, reclaiming it", step.book)
    # Patient on both counts: retried for MUST_FINISH, and each answer waited for much longer than
    # usual (a supplier that books but answers late is exactly how this booking got lost).
    patient_order = order.model_copy(update={"patient": True})
    resent = yield from with_backoff(context, step.book, patient_order, policy, patience=MUST_FINISH)
    if resent.gave_up:
        log(context, logging.ERROR, "could not reclaim %s: %s", step.book, resent.error)
        return False
    booked = step.outcome.from_wire(resent.result).booking
    if booked is None:
        return True  # the supplier made no booking under this key (and, idempotent, will not now)
    undone = yield from with_backoff(
        context,
        step.undo,
        UndoOrder(reference=booked.reference, patient=True),
        policy,
        patience=MUST_FINISH,
    )
    if undone.gave_up:
        log(context, logging.ERROR, "could not undo reclaimed %s: %s", booked.reference, undone.error)
        return False
    log(context, logging.INFO, "%s: reclaimed %s and undid it", step.book, booked.reference)
    return True
