"""Webhook ids this worker has already handled, so a redelivery costs no Durable calls.

A bounded, in-process memory: a fast path only. The guarantees live in durable state: the booking
orchestrator dedupes payments by webhookId/paymentId, and a late payment's refund runs under the
deterministic instance id `refund-<paymentId>`, so a redelivery reaching another worker (or this
one after a restart) still changes nothing.
"""

import threading
import time
from collections import OrderedDict

# Providers redeliver for days (Standard Webhooks retries span ~1 day or more): remember a week.
RETENTION_SECONDS = 7 * 24 * 3600
CAPACITY = 100_000


class RecentIds:
    def __init__(self, retention_seconds: float = RETENTION_SECONDS, capacity: int = CAPACITY) -> None:
        self._retention = retention_seconds
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, webhook_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            return webhook_id in self._seen

    def remember(self, webhook_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._seen[webhook_id] = now
            self._seen.move_to_end(webhook_id)
            self._expire(now)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)

    def forget_all(self) -> None:
        with self._lock:
            self._seen.clear()

    def _expire(self, now: float) -> None:
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at < self._retention:
                break
            del self._seen[oldest]


recent_webhooks = RecentIds()
