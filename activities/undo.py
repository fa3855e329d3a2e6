"""What every undo activity answers: undone, or the supplier never knew the reference (also fine)."""

from __future__ import annotations

import logging
from typing import Any

import suppliers
from booking.activity_io import UndoOrder, UndoOutcome

log = logging.getLogger(__name__)


def undo_outcome(order: UndoOrder, result: object) -> dict[str, Any]:
    found = not isinstance(result, suppliers.Rejected)
    log.info("%s undone%s", order.reference, "" if found else " (unknown to the supplier)")
    return UndoOutcome(reference=order.reference, found=found).to_wire()
