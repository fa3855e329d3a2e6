"""The real app (function_app.app) behind devhost's HTTP front, under a seeded, bounded burst of hostile raw
requests: every answer is a 4xx (health may say 200), none carries a stack trace or a runtime URL, and
not a single orchestration is started.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

import function_app
from devhost.http.testing import DurableTestHost, durable_host
from tests.support.raw_http import send_raw

LEAKS = (b"Traceback", b"runtime/webhooks", b"/durabletask/", b"code=", b'File "')
BOOKING = b"bk_" + b"0" * 32


@pytest.fixture
async def app_host() -> AsyncIterator[DurableTestHost]:
    async with durable_host(function_app.app) as host:
        yield host




async def test_a_burst_of_hostile_requests_gets_4xx_and_starts_nothing(app_host: DurableTestHost) -> None:
    rng = random.Random(1120)
    targets = [
        b"POST /api/bookings",
        b"GET /api/bookings?limit=%C2%B2",
        b"GET /api/bookings?limit=" + b"9" * 5000,
        b"GET /api/bookings?status=%00&limit=-1",
        b"GET /api/bookings/%3Cscript%3E",
        b"GET /api/bookings/..%2F..%2Fruntime%2Fwebhooks%2Fdurabletask%2Finstances",
        b"GET /api/bookings/" + BOOKING + b"/events",
        b"POST /api/bookings/%00/cancel",
        b"POST /api/bookings/" + BOOKING + b"/cancel",
        b"POST /api/webhooks/payments",
        b"DELETE /api/bookings/" + BOOKING,
        b"PUT /api/webhooks/payments",
    ]
    headers = [
        b"Content-Type: application/json",
        b"Content-Type: application/json; charset=latin-1",
        b"Content-Type: text/plain",
        b"Idempotency-Key: " + b"k" * 256,
        b"Idempotency-Key: caf\xc3\xa9",
        b"webhook-id: msg_1",
        b"webhook-timestamp: 1.7e9",
        b"webhook-signature: v1,@@@ v1 v1,a,b",
        b"webhook-signature: v1," + b"A" * 43 + b"=",
        b"Host: a:99999",
        b"Host: evil.example",
    ]
    bodies = [
        b"",
        b"{",
        b"[" * 30_000 + b"]" * 30_000,
        b'{"traveller": NaN}',
        b'{"currency": "EUR", "currency": "USD"}',
        b"\xff\xfe{}",
        json.dumps(
            {"traveller": {"name": "A", "email": "a@b.c"}, "trips": [{"conferenceId": 1, "origin": "BER"}]}
        ).encode(),
        json.dumps({"traveller": {"name": "A", "email": "a@b.c"}, "trips": []}).encode(),
        json.dumps({"type": "payment.succeeded", "data": {"amount": "1e999999"}}).encode(),
        b" " * (64 * 1024 + 1),
    ]
    statuses: set[int] = set()
    for _ in range(150):
        body = rng.choice(bodies)
        head = rng.choice(targets) + b" HTTP/1.1\r\nHost: 127.0.0.1"
        for extra in rng.sample(headers, rng.randint(0, 4)):
            head += b"\r\n" + extra
        head += b"\r\nContent-Length: %d\r\nConnection: close" % len(body)
        status, response = await send_raw(app_host, head, body)
        statuses.add(status)
        assert 400 <= status < 500, (head[:160], response[:400])
        assert not any(leak in response for leak in LEAKS), response[:400]
    assert {400, 401, 404, 413} <= statuses  # the burst reached every kind of refusal
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{app_host.base_url}/runtime/webhooks/durabletask/instances") as r:
            assert r.status == 200
            assert await r.json() == [], "a refused request started an orchestration"
        async with http.get(f"{app_host.base_url}/api/health") as r:
            assert r.status == 200
