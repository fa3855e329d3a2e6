"""Expense API (`/expense`): file an expense report for a booking, read it, withdraw it (undo)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sandbox.api import bookings
from sandbox.api.common import Route, Services
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


ROUTES = [
    Route(
        "POST",
        "/expense/reports",
        bookings.create_handler(SUPPLIER, ExpenseRequest, "EX-", _build),
        "File an expense report",
        SUPPLIER,
        body=ExpenseRequest,
        response=ExpenseReport,
        success=201,
        errors=(400, 415, 422),
        idempotent_create=True,
    ),
    Route(
        "GET",
        "/expense/reports/{reference}",
        bookings.get_handler(SUPPLIER),
        "Read a report",
        SUPPLIER,
        response=ExpenseReport,
        errors=(404,),
    ),
    Route(
        "DELETE",
        "/expense/reports/{reference}",
        bookings.undo_handler(SUPPLIER),
        "Withdraw (undo) a report; idempotent",
        SUPPLIER,
        response=ExpenseReport,
        errors=(404,),
    ),
]
