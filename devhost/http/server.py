"""Assembles the aiohttp application (admin endpoints, management API on both bases, HTTP triggers) and
serves it on 127.0.0.1. `--port 0` binds a free port first, so the URLs handed to functions are real.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from concurrent.futures import Executor
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from devhost.app_index import HttpFunction
from devhost.dashboard import api as dashboard_api
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


_OWN_NAMES = frozenset({HOST, "localhost"})


def _authority(value: str) -> tuple[str, int | None]:
    """(lower-case host name, port or None) of a Host header that `valid_host` accepted."""
    name, sep, port = value.rpartition(":") if not value.endswith("]") else (value, "", "")
    if not sep:
        name, port = value, ""
    return name.lower(), int(port) if port else None


def _configured_names() -> set[str]:
    """Names the app was told it is reached by: PUBLIC_BASE_URL (a tunnel, a proxy) and WEBSITE_HOSTNAME."""
    names = set()
    for value in (os.environ.get("PUBLIC_BASE_URL", ""), "//" + os.environ.get("WEBSITE_HOSTNAME", "")):
        host = urlsplit(value).hostname if value.strip("/") else None
        if host:
            names.add(host.lower())
    return names


def own_host(value: str | None, own_port: int | None) -> bool:
    """Whether a (valid) Host header names this server: its loopback names on its own port (or no port),
    or a name the app is configured to be reached by. Functions build URLs from the Host (the booking's
    Location), so a foreign one must never reach them: it would be reflected into their answers."""
    if not value:
        return True  # no Host: aiohttp uses the socket's own address
    name, port = _authority(value)
    if name in _configured_names():
        return True
    return name in _OWN_NAMES and (port is None or own_port is None or port == own_port)


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
    disabled: frozenset[str] = frozenset(),
) -> HostApp:
    app = web.Application(client_max_size=MAX_BODY)
    management = ManagementApi(hub, urls, keys=keys)
    dashboard = dashboard_api.DashboardApi(hub, keys=keys)
    front = HttpFront(functions, route_prefix=route_prefix, urls=urls, executor=executor, app_root=app_root,
                      keys=keys, disabled=disabled)

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
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if not own_host(request.headers.get("Host"), sockname[1] if sockname else None):
            # Not the real host's behaviour (it serves any Host, and Azure's front end only routes the app's
            # own names to it): a local server must not answer for other names (DNS rebinding, reflection).
            return web.Response(status=400, text="400 Bad Request: the Host header does not name this server "
                                "(use 127.0.0.1 or localhost with its port, or set PUBLIC_BASE_URL)")
        try:
            request.url  # noqa: B018 - yarl parses the Host here; a value it refuses is still the caller's
        except ValueError:
            return web.Response(status=400)
        # The dashboard's prefix is outside the app's route prefix, so no function can claim it.
        if dashboard_api.owns(request.path):
            return await dashboard.handle(request)
        # One catch-all route: the management bases are matched case-insensitively, as ASP.NET does.
        if management.route_tail(request.path) is not None:
            return await management.handle(request)
        return await front.handle(request)

    app.router.add_route("GET", "/admin/host/ping", ping)
    app.router.add_route("POST", "/admin/host/ping", ping)
    app.router.add_route("GET", "/admin/host/status", host_status)
    # Any path at all: "." would stop at a decoded newline (/api/bookings/a%0Ab) and leave aiohttp's bare
    # 404, where the real host hands the request to the function (PROTOCOL.md §31).
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    return HostApp(app, front, management, urls)


# The start of a request head: a method token and a space. Only such a chunk replaces the remembered line.
_REQUEST_START = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20} ")
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}")
_MAX_LOGGED_PATH = 200


def _printable(text: str) -> str:
    """`text` with everything but printable ASCII escaped, so a log line stays one line of plain text."""
    return "".join(ch if " " <= ch < "\x7f" else f"\\x{ord(ch):02x}" for ch in text)


def describe_refusal(request_line: bytes, exc: BaseException) -> str:
    """"METHOD /path (reason)" for a request the HTTP parser refused: the query is left out (it may carry a
    key) and so are the parser's own words after the first ":" (they quote the raw header bytes)."""
    parts = request_line.decode("latin-1").split(" ")
    method = parts[0] if _METHOD.fullmatch(parts[0]) else "?"
    target = parts[1] if len(parts) > 1 else "?"
    path = _printable(target.split("?", 1)[0].split("#", 1)[0])
    if len(path) > _MAX_LOGGED_PATH:
        path = path[:_MAX_LOGGED_PATH] + "…"
    message = getattr(exc, "message", "") or ""
    reason = message.splitlines()[0].split(":", 1)[0].strip() if message.strip() else type(exc).__name__
    return f"{method} {path} ({_printable(reason)[:100]})"


class _FrontProtocol(RequestHandler):
    """aiohttp's connection handler, but a request its parser refuses is one WARNING line (method, path,
    reason) and a plain 400: aiohttp logs those at ERROR with a traceback whose text quotes the raw head,
    which may hold a secret someone sent by mistake, and echoes those bytes in its answer."""

    _request_line = b""

    def data_received(self, data: bytes) -> None:
        if _REQUEST_START.match(data):
            self._request_line = data[:4096].split(b"\r\n", 1)[0]
        super().data_received(data)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        if not isinstance(exc, HttpProcessingError) or status >= 500:
            return super().handle_error(request, status, exc, message)
        description = describe_refusal(self._request_line, exc)
        log.warning("refused a malformed request: %s", description)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot answer the malformed request")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        response = web.Response(status=status, text=f"{status} {phrase}\n")
        response.force_close()
        return response


class _FrontServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _FrontProtocol(self, loop=self._loop, **self._kwargs)


class _FrontRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The same server, with our connection handler (aiohttp builds its Server inside the runner).
        return _FrontServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )


async def serve(host_app: HostApp, sock: socket.socket) -> web.AppRunner:
    """Start serving on an already bound socket; the caller cleans up the returned runner."""
    runner = _FrontRunner(host_app.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    return runner
