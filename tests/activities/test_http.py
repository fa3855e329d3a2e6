"""One connection pool per event loop, shared by every supplier client on it."""

from __future__ import annotations

from activities.http import close_pool, supplier_http


async def test_same_loop_same_client_and_one_shared_transport(app_settings_on_sandbox):
    a = supplier_http("http://127.0.0.1:1/airline")
    assert supplier_http("http://127.0.0.1:1/airline") is a
    b = supplier_http("http://127.0.0.1:1/rail")
    assert b is not a
    assert a._transport is b._transport
    assert a.timeout.read == 10.0
    await close_pool()
    assert supplier_http("http://127.0.0.1:1/airline") is not a
    await close_pool()
