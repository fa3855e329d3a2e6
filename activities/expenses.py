"""Expense activity: file one report with every price of a confirmed booking."""

from __future__ import annotations

import logging
from typing import Any

import suppliers
from activities import suppliers_map as to
from activities.http import supplier_http
from booking.activity_io import ExpenseOrder, ExpenseReported
from booking.settings import get_settings

log = logging.getLogger(__name__)


def _client() -> suppliers.ExpenseClient:
    return suppliers.ExpenseClient(supplier_http(str(get_settings().expense_api_url)))


async def report_expenses(order: Any) -> dict[str, Any]:
    report = ExpenseOrder.from_wire(order)
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
    async with to.supplier_errors():
        filed = await _client().submit(
            report.booking_id, to.traveller(report.traveller), lines, idempotency_key=report.idempotency_key
        )
    log.info("expenses %s filed for booking %s", filed.reference, report.booking_id)
    return ExpenseReported(reference=filed.reference, total=to.money(filed.total)).to_wire()
