"""Client of the expense system API (`EXPENSE_API_URL`)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from pydantic import TypeAdapter

from suppliers.base import SupplierClient, undo_key
from suppliers.models import ExpenseLine, ExpenseReport, Rejected, RejectionCode, Traveller

_REPORT = TypeAdapter(ExpenseReport)


class ExpenseClient(SupplierClient):
    supplier = "expense"

    async def submit(
        self, booking_id: str, traveller: Traveller, lines: Sequence[ExpenseLine], *, idempotency_key: str
    ) -> ExpenseReport:
        """File a report (1–100 lines, one currency)."""
        body = {
            "bookingId": booking_id,
            "traveller": traveller.to_wire(),
            "lines": [ln.to_wire() for ln in lines],
        }
        return await self._call_ok("POST", "reports", _REPORT, json=body, idempotency_key=idempotency_key)

    async def get(self, reference: str) -> ExpenseReport | Rejected:
        return await self._call(
            "GET",
            f"reports/{quote(reference, safe='')}",
            ExpenseReport,
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )

    async def undo(self, reference: str, *, idempotency_key: str | None = None) -> ExpenseReport | Rejected:
        """Withdraw a report; idempotent. `Rejected(booking_not_found)` when the reference is unknown."""
        return await self._call(
            "DELETE",
            f"reports/{quote(reference, safe='')}",
            ExpenseReport,
            idempotency_key=idempotency_key or undo_key(reference),
            business=(RejectionCode.BOOKING_NOT_FOUND,),
        )
