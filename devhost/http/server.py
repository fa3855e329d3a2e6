"""Assembles the aiohttp application (admin endpoints, management API on both bases, HTTP triggers) and
serves it on 127.0.0.1. `--port 0` binds a free port first, so the URLs handed to functions are real.
"""

from __future__ import annotations

import logging
import re
import socket
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from devhost.app_index import HttpFunction
from devhost.http.binding import DurableUrls
from devhost.http.front import MAX_BODY, HttpFront
from devhost.http.hub import HubClient
from devhost.http.keys import HostKeys
from devhost.http.management import ManagementApi, json_response

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# RFC 9110 Host: uri-host [":" port], where uri-host is an IP literal, an IPv4 address or a reg-name
# (unreserved / pct-encoded / sub-delims; pct-encoding is refused here, as Kestrel does).
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::(?P<port>[0-9]{0,5}))?")


def valid_host(value: str | None) -> bool:
    """Whether a Host header can name this server. URLs handed to functions (req.url, Location, the
    management links) are built from it, so an unparseable one is the caller's 400, never our 500."""
    if value is None or value == "":
        return True  # HTTP/1.0 or a bare client: aiohttp falls back to the socket's own address
    m = _HOST.fullmatch(value)
    return m is not None and int(m.group("port") or 0) <= 65535


def bind_socket(port: int, host: str = HOST) -> socket.socket:
    """A listening socket on `host:port` (0 = any free port); raises OSError when the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class HostApp:
    """The parts of one running host's web layer (tests reach in through these)."""

    app: web.Application
    front: HttpFront
    management: ManagementApi
    urls: DurableUrls


def build_app(
    *,
    functions: list[HttpFunction],
    hub: HubClient,
    urls: DurableUrls,
    route_prefix: str,
    app_root: Path,
    executor: Executor | None = None,
    keys: HostKeys | None = None,
) -> HostApp:
    app = web.Application(client_max_size=MAX_BODY)
    management = ManagementApi(hub, urls, keys=keys)
    front = HttpFront(functions, route_prefix=route_prefix, urls=urls, executor=executor, app_root=app_root,
                      keys=keys)

    async def ping(request: web.Request) -> web.Response:
        # The host's anonymous liveness probe.
        return web.Response(status=200)

    async def host_status(request: web.Request) -> web.Response:
        if keys is not None:
            key = request.headers.get("x-functions-key") or request.query.get("code") or ""
            if not keys.is_master(key):
                return web.Response(status=401)
        return json_response({"id": "devhost", "state": "Running", "version": "devhost",
                              "extensionBundle": None, "processUptime": 0})

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if not valid_host(request.headers.get("Host")):
            return web.Response(status=400)  # Kestrel: 400 Bad Request for an invalid Host
        try:
            request.url  # noqa: B018 - yarl parses the Host here; a value it refuses is still the caller's
        except ValueError:
            return web.Response(status=400)
        # One catch-all route: the management bases are matched case-insensitively, as ASP.NET does.
        if management.route_tail(request.path) is not None:
            return await management.handle(request)
        return await front.handle(request)

    app.router.add_route("GET", "/admin/host/ping", ping)
    app.router.add_route("POST", "/admin/host/ping", ping)
    app.router.add_route("GET", "/admin/host/status", host_status)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return HostApp(app, front, management, urls)


async def serve(host_app: HostApp, sock: socket.socket) -> web.AppRunner:
    """Start serving on an already bound socket; the caller cleans up the returned runner."""
    runner = web.AppRunner(host_app.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    return runner
