"""Expense activity: file one report with every price of a confirmed booking."""

from __future__ import annotations

import logging

import suppliers
from activities import suppliers_map as to
from activities.clients import SupplierClients
from booking.activity_io import ExpenseOrder, ExpenseReported

log = logging.getLogger(__name__)


async def report_expenses(report: ExpenseOrder, clients: SupplierClients) -> ExpenseReported:
    lines = [
        suppliers.ExpenseLine(
            category=line.category,
            description=line.description,
            reference=line.reference,
            amount=line.price.amount,
            currency=line.price.currency,
        )
        for line in report.lines
    ]
    filed = await clients.expense.submit(
        report.booking_id, to.traveller(report.traveller), lines, idempotency_key=report.idempotency_key
    )
    log.info("expenses %s filed for booking %s", filed.reference, report.booking_id)
    return ExpenseReported(reference=filed.reference, total=filed.total)
