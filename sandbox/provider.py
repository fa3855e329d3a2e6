"""The payment provider's background side: resolve due payments, deliver their signed webhooks.

Both are driven from the database (resolve_at, next_attempt_at), so a restart carries on where
the last process stopped. Deliveries of one payment go out one after another, in schedule order,
which is what makes `duplicate` and `out_of_order` modes mean something.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

import httpx

from sandbox import signing
from sandbox.settings import Settings
from sandbox.store import DeliveryRow, PaymentRow, Store
from sandbox.wire import WebhookMode, now_iso

log = logging.getLogger(__name__)

MODE_SETTING = "webhook_mode"
_IDLE_WAIT = 1.0


def new_webhook_id() -> str:
    return "msg_" + secrets.token_hex(12)


def event_body(
    payment: PaymentRow,
    event_type: str,
    *,
    reason: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
) -> str:
    data: dict[str, Any] = {
        "paymentId": payment.payment_id,
        "bookingId": payment.booking_id,
        "amount": amount or payment.amount,
        "currency": currency or payment.currency,
    }
    if event_type == "payment.failed":
        data["reason"] = reason or "card_declined"
    return json.dumps({"type": event_type, "data": data}, separators=(",", ":"))


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling, capped."""
    return float(
        min(settings.webhook_retry_seconds * 2 ** (attempts - 1), settings.webhook_max_interval_seconds)
    )


class PaymentProvider:
    """Owns the worker task; handlers call `wake()` after scheduling something."""

    def __init__(self, store: Store, settings: Settings, http: httpx.AsyncClient) -> None:
        self._store = store
        self._settings = settings
        self._http = http
        self._wake = asyncio.Event()
        # Deliveries in flight at once. A thousand payments resolved together used to be a thousand posts at
        # once: most waited for a connection longer than the attempt's timeout (httpx PoolTimeout), failed
        # every retry together and were given up, though the app answered each in milliseconds. A provider
        # sends to one endpoint a few at a time; the wait for a slot is not part of an attempt.
        self._sending = asyncio.Semaphore(settings.webhook_concurrency)
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._main: asyncio.Task[None] | None = None

    # ---- configuration ------------------------------------------------------------------------

    def mode(self) -> WebhookMode:
        raw = self._store.get_setting(MODE_SETTING)
        return WebhookMode() if raw is None else WebhookMode.model_validate(raw)

    def set_mode(self, mode: WebhookMode) -> None:
        self._store.put_setting(MODE_SETTING, mode.model_dump(mode="json", by_alias=True))

    # ---- scheduling (called inside the caller's transaction where it matters) -----------------

    def schedule(
        self,
        payment: PaymentRow,
        event_type: str,
        *,
        at: float,
        copies: int = 1,
        webhook_id: str | None = None,
        reason: str | None = None,
        amount: str | None = None,
        currency: str | None = None,
        dropped: bool = False,
    ) -> str:
        webhook_id = webhook_id or new_webhook_id()
        body = event_body(payment, event_type, reason=reason, amount=amount, currency=currency)
        for _ in range(copies):
            self._store.add_delivery(
                webhook_id,
                payment.payment_id,
                event_type,
                payment.callback_url,
                body,
                "dropped" if dropped else "scheduled",
                None if dropped else at,
            )
        return webhook_id

    def resolve(self, payment: PaymentRow, now: float) -> None:
        """A due payment takes its outcome; its webhooks are scheduled per the current mode."""
        mode = self.mode()
        status = payment.outcome
        reason = "card_declined" if status == "failed" else None
        with self._store.transaction():
            self._store.set_payment_status(payment.payment_id, status, reason, now_iso())
            event = f"payment.{status}"
            if mode.mode == "drop":
                self.schedule(payment, event, at=now, reason=reason, dropped=True)
            elif mode.mode == "duplicate":
                self.schedule(payment, event, at=now, reason=reason, copies=mode.copies)
            elif mode.mode == "late":
                self.schedule(payment, event, at=now + mode.late_seconds, reason=reason)
            elif mode.mode == "out_of_order" and status == "succeeded":
                self.schedule(payment, event, at=now)
                self.schedule(payment, "payment.failed", at=now, reason="attempt_declined")
            else:
                self.schedule(payment, event, at=now, reason=reason)

    # ---- the worker ---------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._main = asyncio.create_task(self._run(), name="sandbox-payment-provider")

    async def stop(self) -> None:
        tasks = [t for t in (self._main, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                wait = self._tick()
            except Exception:  # a bad row must not stop every later webhook
                log.exception("payment provider tick failed")
                wait = _IDLE_WAIT
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    def _tick(self) -> float:
        now = time.time()
        for payment in self._store.due_payments(now):
            self.resolve(payment, now)
        for payment_id in {d.payment_id for d in self._store.due_deliveries(now)}:
            if payment_id not in self._busy:
                self._busy.add(payment_id)
                task = asyncio.create_task(self._deliver_due(payment_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        due = [t for t in (self._store.next_payment_due(), self._store.next_delivery_due()) if t is not None]
        return max(0.0, min([*due, now + _IDLE_WAIT]) - time.time())

    async def _deliver_due(self, payment_id: str) -> None:
        try:
            while True:
                due = [d for d in self._store.due_deliveries(time.time()) if d.payment_id == payment_id]
                if not due:
                    return
                await self._attempt(due[0])
        finally:
            self._busy.discard(payment_id)
            self.wake()

    async def _attempt(self, d: DeliveryRow) -> None:
        status: int | None = None
        error: str | None = None
        async with self._sending:
            # Signed once it has a slot, so the timestamp the receiver checks is the time it is sent.
            timestamp = int(time.time())
            headers = signing.headers(self._settings.webhook_key, d.webhook_id, timestamp, d.body)
            try:
                response = await self._http.post(
                    d.url,
                    content=d.body.encode(),
                    headers=headers,
                    timeout=self._settings.webhook_timeout_seconds,
                )
                status = response.status_code
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                # InvalidURL is not an HTTPError: uncaught, it killed the delivery task before the attempt
                # was recorded, the row stayed due, and the next tick started it again (a busy loop).
                error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = d.attempts + 1
        if status is not None and 200 <= status < 300:
            self._store.record_attempt(
                d.id, status="delivered", last_status=status, last_error=None, next_attempt_at=None
            )
            log.info("webhook %s for %s delivered (attempt %d)", d.webhook_id, d.payment_id, attempts)
            return
        if attempts >= self._settings.webhook_max_attempts:
            self._store.record_attempt(
                d.id, status="failed", last_status=status, last_error=error, next_attempt_at=None
            )
            log.warning("webhook %s for %s failed after %d attempts", d.webhook_id, d.payment_id, attempts)
            return
        interval = backoff(attempts, self._settings)
        self._store.record_attempt(
            d.id,
            status="scheduled",
            last_status=status,
            last_error=error,
            next_attempt_at=time.time() + interval,
        )
        log.info(
            "webhook %s for %s answered %s; retry in %.2fs",
            d.webhook_id,
            d.payment_id,
            status if status is not None else error,
            interval,
        )
