"""The HTTP plumbing of the activities: one connection pool per event loop, shared by every supplier.

An `httpx.AsyncClient` belongs to the event loop it first ran on, so the pool is kept per loop
(the Functions worker runs async activities on one loop; tests make their own). Each supplier gets a
light client with its own base URL on top of that loop's shared transport.
"""

from __future__ import annotations

import asyncio
import weakref

import httpx

from booking.settings import get_settings

# Generous for a fan-out of ten trips; suppliers answer in milliseconds.
_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=20)
# A call that must finish (an order marked `patient`) waits this many times the supplier timeout for
# its answer, at most `_PATIENT_MAX_SECONDS`: a supplier slower than the normal timeout is still heard.
PATIENT_TIMEOUT_FACTOR = 10
_PATIENT_MAX_SECONDS = 300.0


class _LoopPool:
    def __init__(self) -> None:
        self.transport = httpx.AsyncHTTPTransport(limits=_LIMITS, retries=0)
        self.clients: dict[tuple[str, bool], httpx.AsyncClient] = {}


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool] = weakref.WeakKeyDictionary()


def supplier_http(base_url: str, *, patient: bool | None = None) -> httpx.AsyncClient:
    """The client for one supplier API on the running loop (created on first use, then reused);
    `patient`: the one for calls that must finish, with a much longer read timeout."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _LoopPool()
    client = pool.clients.get((base_url, bool(patient)))
    if client is None:
        seconds = get_settings().supplier_timeout_seconds
        if patient:
            seconds = min(seconds * PATIENT_TIMEOUT_FACTOR, max(_PATIENT_MAX_SECONDS, seconds))
        timeout = httpx.Timeout(seconds, connect=5.0)
        client = httpx.AsyncClient(base_url=base_url, transport=pool.transport, timeout=timeout)
        pool.clients[(base_url, bool(patient))] = client
    return client


async def close_pool() -> None:
    """Close the running loop's pool (tests that end their loop call it; the worker never needs to)."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.transport.aclose()
