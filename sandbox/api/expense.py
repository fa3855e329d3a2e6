"""Expense API (`/expense`): file an expense report for a booking, read it, withdraw it (undo)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sandbox.api import bookings
from sandbox.api.common import Services
from sandbox.wire import ExpenseReport, ExpenseRequest, Money

SUPPLIER = "expense"


def _build(body: ExpenseRequest, reference: str, svc: Services, created: datetime) -> ExpenseReport:
    total = sum((line.amount for line in body.lines), Decimal("0"))
    return ExpenseReport(
        reference=reference,
        status="active",
        booking_id=body.booking_id,
        lines=body.lines,
        total=Money(amount=total, currency=body.lines[0].currency),
        created_at=created,
        undone_at=None,
    )


ROUTES = bookings.routes(
    SUPPLIER,
    "/expense/reports",
    "EX-",
    ExpenseRequest,
    ExpenseReport,
    _build,
    book="File an expense report",
    noun="report",
    errors=(400, 415, 422),
    undo="Withdraw (undo)",
)
