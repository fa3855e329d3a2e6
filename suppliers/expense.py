"""Client of the expense system API (`EXPENSE_API_URL`)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter

from suppliers.base import BookingsClient
from suppliers.models import ExpenseLine, ExpenseReport, Traveller

_REPORT = TypeAdapter(ExpenseReport)


class ExpenseClient(BookingsClient[ExpenseReport]):
    """Expense reports (`get`, `undo` = withdraw: see `BookingsClient`)."""

    supplier = "expense"
    collection = "reports"
    booking = ExpenseReport

    async def submit(
        self, booking_id: str, traveller: Traveller, lines: Sequence[ExpenseLine], *, idempotency_key: str
    ) -> ExpenseReport:
        """File a report (1–100 lines, one currency)."""
        body = {
            "bookingId": booking_id,
            "traveller": traveller.to_wire(),
            "lines": [ln.to_wire() for ln in lines],
        }
        return await self._call_ok(
            "POST", self.collection, _REPORT, json=body, idempotency_key=idempotency_key
        )
