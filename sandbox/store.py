"""The sandbox's state in one SQLite file: bookings, payments, refunds, webhook deliveries, counters,
and the log of supplier requests received (with their W3C traceparent).

Every write is one transaction, so a crash never leaves half a booking; WAL with synchronous=NORMAL
keeps every commit across a killed process. Calls are short and run on the event loop directly.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

R = TypeVar("R")

SCHEMA = """
CREATE TABLE IF NOT EXISTS bookings (
    reference TEXT PRIMARY KEY,
    supplier TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    email TEXT NOT NULL,
    booking_id TEXT,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    undone_at TEXT,
    seq INTEGER NOT NULL,
    UNIQUE (supplier, idempotency_key)
);
CREATE INDEX IF NOT EXISTS bookings_email ON bookings (email);
CREATE INDEX IF NOT EXISTS bookings_booking_id ON bookings (booking_id);
CREATE TABLE IF NOT EXISTS payments (
    payment_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    booking_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    email TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    checkout_url TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    failure_reason TEXT,
    resolve_at REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_booking_id ON payments (booking_id);
CREATE INDEX IF NOT EXISTS payments_resolve_at ON payments (resolve_at);
CREATE TABLE IF NOT EXISTS refunds (
    refund_id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    seq INTEGER NOT NULL,
    UNIQUE (payment_id, idempotency_key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS requests (
    api TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    idempotency_key TEXT,
    traceparent TEXT,
    received_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class BookingRow:
    reference: str
    supplier: str
    idempotency_key: str
    fingerprint: str
    email: str
    booking_id: str | None
    status: str
    body: dict[str, Any]
    created_at: str
    undone_at: str | None

    def view(self) -> dict[str, Any]:
        """The resource as the API answers it: stored body plus its current state."""
        return {**self.body, "status": self.status, "createdAt": self.created_at, "undoneAt": self.undone_at}


@dataclass(frozen=True)
class PaymentRow:
    payment_id: str
    idempotency_key: str
    fingerprint: str
    booking_id: str
    amount: str
    currency: str
    email: str
    callback_url: str
    checkout_url: str
    status: str
    outcome: str
    failure_reason: str | None
    resolve_at: float | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class RefundRow:
    refund_id: str
    payment_id: str
    idempotency_key: str
    fingerprint: str
    amount: str
    reason: str | None
    created_at: str


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    webhook_id: str
    payment_id: str
    event_type: str
    url: str
    body: str
    status: str
    attempts: int
    next_attempt_at: float | None
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True)
class RequestRow:
    """One request to a supplier API as received: no body, no query (either may carry personal data)."""

    api: str
    method: str
    path: str
    idempotency_key: str | None
    traceparent: str | None
    received_at: str


def _record(make: Callable[..., R], row: sqlite3.Row, **loaded: Any) -> R:
    """A row dataclass from its table row: `seq` only orders rows; `loaded` replaces columns kept as text."""
    return make(**{**{k: row[k] for k in row.keys() if k != "seq"}, **loaded})


class Store:
    """Typed access to the sandbox's SQLite file."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        with self.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; nested use joins the outer transaction."""
        if self._db.in_transaction:
            yield self._db
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _seq(self) -> int:
        return self.bump("seq")

    # ---- the shapes every table shares --------------------------------------------------------

    @staticmethod
    def _where(equal: dict[str, str | None]) -> tuple[str, tuple[str, ...]]:
        """A WHERE clause for columns equal to the given values; a None value filters nothing."""
        given = {column: value for column, value in equal.items() if value is not None}
        clause = " AND ".join(f"{column} = ?" for column in given)
        return (f" WHERE {clause}" if clause else ""), tuple(given.values())

    def _rows(self, table: str, order: str, **equal: str | None) -> list[sqlite3.Row]:
        where, values = self._where(equal)
        return self._db.execute(f"SELECT * FROM {table}{where} ORDER BY {order}", values).fetchall()

    def _row(self, table: str, **key: str) -> sqlite3.Row | None:
        """The row of a unique key."""
        where, values = self._where(dict(key))
        row: sqlite3.Row | None = self._db.execute(f"SELECT * FROM {table}{where}", values).fetchone()
        return row

    def _insert(self, table: str, record: Any, **stored: Any) -> None:
        """Insert a row dataclass (with `stored` replacing fields kept in another form) as the next seq."""
        columns = {**{f.name: getattr(record, f.name) for f in fields(record)}, **stored}
        with self.transaction() as db:
            columns["seq"] = self._seq()
            marks = ", ".join("?" for _ in columns)
            db.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", tuple(columns.values())
            )

    # ---- counters and settings ----------------------------------------------------------------

    def bump(self, name: str) -> int:
        """Increment a named counter and return its new value (durably)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            return int(row["value"])

    def get_setting(self, name: str) -> Any | None:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row["value"])

    def put_setting(self, name: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value)),
            )

    def delete_settings(self, prefix: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM settings WHERE name LIKE ?", (prefix + "%",))

    def settings_with_prefix(self, prefix: str) -> dict[str, Any]:
        rows = self._db.execute("SELECT name, value FROM settings WHERE name LIKE ?", (prefix + "%",))
        return {r["name"][len(prefix) :]: json.loads(r["value"]) for r in rows}

    # ---- supplier bookings --------------------------------------------------------------------

    @staticmethod
    def _booking(row: sqlite3.Row | None) -> BookingRow | None:
        return None if row is None else _record(BookingRow, row, body=json.loads(row["body"]))

    def booking_by_key(self, supplier: str, key: str) -> BookingRow | None:
        return self._booking(self._row("bookings", supplier=supplier, idempotency_key=key))

    def booking(self, supplier: str, reference: str) -> BookingRow | None:
        return self._booking(self._row("bookings", supplier=supplier, reference=reference))

    def insert_booking(self, row: BookingRow) -> None:
        self._insert("bookings", row, body=json.dumps(row.body))

    def undo_booking(self, supplier: str, reference: str, now: str) -> BookingRow | None:
        """Mark a booking undone (once; later calls keep the first undo time)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE bookings SET status = 'undone', undone_at = ? "
                "WHERE supplier = ? AND reference = ? AND status = 'active'",
                (now, supplier, reference),
            )
            return self.booking(supplier, reference)

    def bookings_of(self, email: str, suppliers: tuple[str, ...]) -> list[BookingRow]:
        marks = ",".join("?" for _ in suppliers)
        rows = self._db.execute(
            f"SELECT * FROM bookings WHERE email = ? AND supplier IN ({marks}) ORDER BY seq",
            (email.lower(), *suppliers),
        )
        return [b for b in map(self._booking, rows) if b is not None]

    def bookings_for_booking_id(self, supplier: str, booking_id: str | None) -> list[BookingRow]:
        rows = self._rows("bookings", "seq", supplier=supplier, booking_id=booking_id)
        return [b for b in map(self._booking, rows) if b is not None]

    # ---- payments -----------------------------------------------------------------------------

    @staticmethod
    def _payment(row: sqlite3.Row | None) -> PaymentRow | None:
        return None if row is None else _record(PaymentRow, row)

    def payment(self, payment_id: str) -> PaymentRow | None:
        return self._payment(self._row("payments", payment_id=payment_id))

    def payment_by_key(self, key: str) -> PaymentRow | None:
        return self._payment(self._row("payments", idempotency_key=key))

    def payments(self, booking_id: str | None) -> list[PaymentRow]:
        rows = self._rows("payments", "seq", booking_id=booking_id)
        return [p for p in map(self._payment, rows) if p is not None]

    def insert_payment(self, p: PaymentRow) -> None:
        self._insert("payments", p)

    def set_payment_status(self, payment_id: str, status: str, failure_reason: str | None, now: str) -> None:
        """Move a payment to a new status; it will not resolve automatically any more."""
        with self.transaction() as db:
            db.execute(
                "UPDATE payments SET status = ?, failure_reason = ?, resolve_at = NULL, updated_at = ? "
                "WHERE payment_id = ?",
                (status, failure_reason, now, payment_id),
            )

    def due_payments(self, now: float) -> list[PaymentRow]:
        rows = self._db.execute(
            "SELECT * FROM payments WHERE status = 'pending' AND resolve_at IS NOT NULL AND resolve_at <= ? "
            "ORDER BY resolve_at, seq",
            (now,),
        )
        return [p for p in map(self._payment, rows) if p is not None]

    def next_payment_due(self) -> float | None:
        row = self._db.execute(
            "SELECT MIN(resolve_at) AS t FROM payments WHERE status = 'pending' AND resolve_at IS NOT NULL"
        ).fetchone()
        return None if row["t"] is None else float(row["t"])

    # ---- refunds ------------------------------------------------------------------------------

    def refunds(self, payment_id: str) -> list[RefundRow]:
        return [_record(RefundRow, r) for r in self._rows("refunds", "seq", payment_id=payment_id)]

    def refund_by_key(self, payment_id: str, key: str) -> RefundRow | None:
        row = self._row("refunds", payment_id=payment_id, idempotency_key=key)
        return None if row is None else _record(RefundRow, row)

    def insert_refund(self, r: RefundRow) -> None:
        self._insert("refunds", r)

    # ---- webhook deliveries -------------------------------------------------------------------

    def add_delivery(
        self,
        webhook_id: str,
        payment_id: str,
        event_type: str,
        url: str,
        body: str,
        status: str,
        next_attempt_at: float | None,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO deliveries (webhook_id, payment_id, event_type, url, body, status,"
                " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (webhook_id, payment_id, event_type, url, body, status, next_attempt_at),
            )

    def deliveries(self, payment_id: str | None) -> list[DeliveryRow]:
        return [_record(DeliveryRow, r) for r in self._rows("deliveries", "id", payment_id=payment_id)]

    def due_deliveries(self, now: float) -> list[DeliveryRow]:
        rows = self._db.execute(
            "SELECT * FROM deliveries WHERE status = 'scheduled' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id",
            (now,),
        )
        return [_record(DeliveryRow, r) for r in rows]

    def next_delivery_due(self) -> float | None:
        row = self._db.execute(
            "SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'scheduled'"
        ).fetchone()
        return None if row["t"] is None else float(row["t"])

    def record_attempt(
        self,
        delivery_id: int,
        *,
        status: str,
        last_status: int | None,
        last_error: str | None,
        next_attempt_at: float | None,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, status = ?, last_status = ?, last_error = ?,"
                " next_attempt_at = ? WHERE id = ?",
                (status, last_status, last_error, next_attempt_at, delivery_id),
            )

    # ---- requests received ---------------------------------------------------------------------

    def record_request(self, row: RequestRow) -> None:
        self._insert("requests", row)

    def requests(self, key_prefix: str | None = None, trace_id: str | None = None) -> list[RequestRow]:
        """Requests in the order received; only those whose Idempotency-Key starts with `key_prefix` and
        whose traceparent names `trace_id`, when given."""
        rows = [_record(RequestRow, r) for r in self._rows("requests", "seq")]
        return [
            r
            for r in rows
            if (key_prefix is None or (r.idempotency_key or "").startswith(key_prefix))
            and (trace_id is None or (r.traceparent or "")[3:35] == trace_id)
        ]
