"""HTTP triggers served like the Functions host: routes, methods, conversions, errors, auth."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from devhost.engine.client import DurableClient
from devhost.http.binding import DurableUrls
from devhost.http.keys import load_or_create_keys
from devhost.http.server import bind_socket, build_app, serve
from devhost.loader import load_app
from devhost.store.memory import MemoryStore
from tests.devhost.host.apps import HTTP_APP, write_app


@contextlib.asynccontextmanager
async def running(app_root: Path, *, auth: bool = False) -> AsyncIterator[str]:
    _, index = load_app(app_root, {})
    sock = bind_socket(0)
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    keys = load_or_create_keys(app_root) if auth else None
    urls = DurableUrls(origin=origin, hub_name="TestHubName",
                       system_key=keys.durable_system_key if keys else None)
    # These tests never reach the management API: an idle in-memory task hub stands behind it.
    hub = DurableClient(MemoryStore(), index)
    host = build_app(functions=index.http_functions, hub=hub, urls=urls,
                     route_prefix="api", app_root=app_root, keys=keys)
    runner = await serve(host, sock)
    try:
        yield origin
    finally:
        await runner.cleanup()


@pytest.fixture
def app_root(tmp_path: Path) -> Path:
    return write_app(tmp_path / "app", HTTP_APP)


async def test_route_parameter_and_str_result(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/hello/Ada%20L") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert await r.text() == "Hello Ada L"


async def test_request_conversion_and_response_fields(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.put(f"{base}/api/echo/a/b/c?x=1&y=two", data=b"payload", headers={"X-Test": "yes"}) as r:
            assert r.status == 201
            assert r.headers["Content-Type"] == "application/json"
            assert r.headers["X-Served-By"] == "echo"
            body = await r.json()
    assert body == {
        "method": "PUT",
        "url": f"{base}/api/echo/a/b/c?x=1&y=two",
        "params": {"x": "1", "y": "two"},
        "route": {"rest": "a/b/c"},
        "header": "yes",
        "body": "payload",
        "thread": True,  # sync functions run in the thread pool, not on the event loop
    }


async def test_catch_all_matches_empty_tail(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/echo") as r:
            assert r.status == 201
            assert (await r.json())["route"] == {}


async def test_constraint_and_precedence(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/items/42") as r:
            assert await r.text() == "number 42"
        async with s.get(f"{base}/api/items/apple") as r:
            assert await r.text() == "name apple"
            assert r.headers["Content-Type"] == "text/html; charset=latin-1"
        async with s.get(f"{base}/api/items/special") as r:
            assert await r.text() == "special"  # a literal segment beats a parameter
        async with s.get(f"{base}/API/Items/42") as r:
            assert await r.text() == "number 42"  # literals match case-insensitively


async def test_optional_parameter(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/opt") as r:
            assert await r.json() == {}
        async with s.get(f"{base}/api/opt/7") as r:
            assert await r.json() == {"id": "7"}


async def test_wrong_method_and_unknown_route_are_404(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.post(f"{base}/api/hello/x") as r:
            assert r.status == 404
        async with s.get(f"{base}/api/nothing-here") as r:
            assert r.status == 404
        async with s.get(f"{base}/hello/x") as r:
            assert r.status == 404  # only under the route prefix


async def test_blueprint_functions_are_served(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/from-blueprint") as r:
            assert await r.text() == "blueprint"


async def test_context_gets_invocation_id(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/ctx") as r:
            invocation_id, name = (await r.text()).split("|")
    assert len(invocation_id) == 36 and name == "with_context"


@pytest.mark.parametrize("path", ["boom", "aboom", "wrongtype", "returns-none"])
async def test_failing_function_is_500_without_details(
    app_root: Path, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="devhost.http.front")
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/{path}") as r:
            assert r.status == 500
            body = await r.read()
        assert body == b""
        async with s.get(f"{base}/api/hello/again") as r:
            assert r.status == 200  # the host carries on
    failed = [rec for rec in caplog.records if "Failed, Id=" in rec.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None


async def test_home_and_ping(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/") as r:
            assert r.status == 200
        async with s.get(f"{base}/admin/host/ping") as r:
            assert r.status == 200


async def test_auth_not_enforced_by_default(app_root: Path) -> None:
    async with running(app_root) as base, aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/admin-only") as r:
            assert r.status == 200
        async with s.get(f"{base}/api/items/1") as r:
            assert r.status == 200
    assert not (app_root / ".devhost").exists()


async def test_auth_keys_enforced_with_flag(app_root: Path) -> None:
    async with running(app_root, auth=True) as base, aiohttp.ClientSession() as s:
        keys = json.loads((app_root / ".devhost" / "keys.json").read_text())
        function_key = keys["functionKeys"]["default"]
        master = keys["masterKey"]
        async with s.get(f"{base}/api/items/1") as r:
            assert r.status == 401
        async with s.get(f"{base}/api/items/1", headers={"x-functions-key": "wrong"}) as r:
            assert r.status == 401
        async with s.get(f"{base}/api/items/1", headers={"x-functions-key": function_key}) as r:
            assert r.status == 200
        async with s.get(f"{base}/api/items/1?code={function_key}") as r:
            assert r.status == 200
        async with s.get(f"{base}/api/items/1?code={master}") as r:
            assert r.status == 200
        async with s.get(f"{base}/api/admin-only?code={function_key}") as r:
            assert r.status == 401  # admin level wants the master key
        async with s.get(f"{base}/api/admin-only?code={master}") as r:
            assert r.status == 200
        async with s.get(f"{base}/api/hello/anon") as r:
            assert r.status == 200  # anonymous stays open
        async with s.get(f"{base}/runtime/webhooks/durabletask/instances/x") as r:
            assert r.status == 401  # the webhook wants the system key


def test_keys_file_is_private_and_stable(tmp_path: Path) -> None:
    first = load_or_create_keys(tmp_path)
    path = tmp_path / ".devhost" / "keys.json"
    assert path.stat().st_mode & 0o077 == 0
    again = load_or_create_keys(tmp_path)
    assert again == first
    assert first.master != first.function_keys["default"] != first.durable_system_key


def test_per_function_keys_open_only_their_function(tmp_path: Path) -> None:
    keys = load_or_create_keys(tmp_path)
    path = tmp_path / ".devhost" / "keys.json"
    data = json.loads(path.read_text())
    data["perFunctionKeys"] = {"item_by_number": {"default": "only-for-items"}}
    path.write_text(json.dumps(data))
    keys = load_or_create_keys(tmp_path)
    assert keys.allows_function("item_by_number", "only-for-items")
    assert keys.allows_function("ITEM_BY_NUMBER", "only-for-items")  # function names are case-insensitive
    assert not keys.allows_function("admin_only", "only-for-items")
    assert not keys.allows_system("durabletask_extension", "only-for-items")
    assert keys.allows_system("durabletask_extension", keys.master)
