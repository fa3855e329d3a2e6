"""`python -m devhost dashboard`: the dashboard over any task hub, without running an app.

Opens the hub's store (memory or an Azure Storage connection string), serves only `/_devhost/` on
127.0.0.1 and runs no engine. Read-only unless `--allow-actions`; restart is never offered (it needs the
app's orchestrators).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path

from aiohttp import web

from devhost.app_index import AppIndex
from devhost.config import HostConfig
from devhost.dashboard.api import PREFIX, DashboardApi, owns
from devhost.engine.client import DurableClient
from devhost.http.keys import load_or_create_keys
from devhost.http.server import bind_socket, own_host, valid_host
from devhost.store.base import TaskHubStore


class HubNotFound(Exception):
    """The storage account has no task hub of that name; the message is one line for the console."""


async def check_hub_exists(connection_string: str, hub: str) -> None:
    """Opening the store would create the hub's tables and queues; a dashboard must not create a hub
    someone mistyped, so it looks for the hub's Instances table first."""
    from azure.data.tables.aio import TableServiceClient

    from devhost.store.azure.keys import HubNames

    table = HubNames.of(hub, partition_count=1).instances_table
    async with TableServiceClient.from_connection_string(connection_string) as service:
        async for found in service.query_tables("TableName eq @name", parameters={"name": table},
                                                retry_total=1):
            if found.name == table:
                return
    raise HubNotFound(f"no task hub '{hub}' in this storage account (there is no table {table})")


def build_app(
    store: TaskHubStore, hub: str, *, allow_actions: bool, app_root: Path | None
) -> web.Application:
    client = DurableClient(store, AppIndex(app_ref=lambda: None), hub_name=hub)
    keys = load_or_create_keys(app_root) if app_root is not None else None
    dashboard = DashboardApi(client, keys=keys, allow_actions=allow_actions, can_restart=False)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        host = request.headers.get("Host")
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if not valid_host(host) or not own_host(host, sockname[1] if sockname else None):
            # Same rule as devhost start: a page on another name (DNS rebinding) gets nothing.
            return web.Response(status=400, text="400 Bad Request: the Host header does not name this server")
        if owns(request.path):
            return await dashboard.handle(request)
        if request.path == "/" and request.method == "GET":
            raise web.HTTPFound(PREFIX + "/")
        return web.Response(status=404, text=f"404: the dashboard is at {PREFIX}/")

    app = web.Application()
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    return app


async def serve(args: argparse.Namespace, store: TaskHubStore) -> int:
    """Serve until SIGINT/SIGTERM; the store is opened by the caller and closed here."""
    app_root = Path(args.app_root).resolve() if args.auth else None
    app = build_app(store, args.hub, allow_actions=args.allow_actions, app_root=app_root)
    sock = bind_socket(args.port)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    port = sock.getsockname()[1]
    mode = "actions allowed" if args.allow_actions else "read-only"
    print(f"devhost dashboard: task hub '{args.hub}' ({mode})\nDashboard: http://127.0.0.1:{port}{PREFIX}/",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        with contextlib.suppress(Exception):
            await store.close()
    return 0


def add_arguments(board: argparse.ArgumentParser) -> None:
    board.add_argument("--storage", required=True, help="'memory', or an Azure Storage connection string")
    board.add_argument("--hub", required=True, help="the task hub's name")
    board.add_argument("--port", type=int, default=7072, help="HTTP port (default 7072; 0 = a free port)")
    board.add_argument("--allow-actions", action="store_true",
                       help="allow terminate, suspend, resume, raise event and purge (default: read-only)")
    board.add_argument("--auth", action="store_true",
                       help="require the master key of <app root>/.devhost/keys.json")
    board.add_argument("--app-root", default=".", help="where --auth finds .devhost/keys.json")
    board.add_argument("--verbose", "-v", action="store_true", help="debug logging")


async def main(args: argparse.Namespace) -> int:
    """Open the hub (refusing one that does not exist), serve, and exit like `devhost start` does."""
    from devhost.cli import (
        EXIT_STORAGE,
        EXIT_USAGE,
        StorageUnavailable,
        _fail,
        _one_line,
        open_store,
        port_taken,
    )

    try:
        if args.storage.strip().lower() != "memory":
            await check_hub_exists(args.storage, args.hub)
        store = open_store(args.storage, HostConfig(hub_name=args.hub))
        await store.open()
    except (HubNotFound, StorageUnavailable) as exc:
        return _fail(EXIT_STORAGE, str(exc))
    except Exception as exc:
        return _fail(EXIT_STORAGE, f"storage cannot be reached: {_one_line(exc)}")
    try:
        return await serve(args, store)
    except OSError as exc:
        with contextlib.suppress(Exception):
            await store.close()
        return port_taken(exc, args.port) or _fail(EXIT_USAGE, f"cannot serve: {_one_line(exc)}")
