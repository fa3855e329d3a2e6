"""The real app behind devhost's HTTP front, at the edges where devhost itself answered: a Host that is not
one of devhost's addresses, control characters in a route value, malformed HTTP (logged as one line).

Raw sockets: HTTP clients refuse to send most of these requests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

import function_app
from devhost.http.server import own_host
from devhost.http.testing import DurableTestHost, durable_host
from tests.support.raw_http import send_raw


@pytest.fixture
async def app_host() -> AsyncIterator[DurableTestHost]:
    async with durable_host(function_app.app) as host:
        yield host




def authority(host: DurableTestHost) -> bytes:
    return urlsplit(host.base_url).netloc.encode()


# --- Host: only devhost's own addresses ------------------------------------------------------------------


@pytest.mark.parametrize(
    "foreign", [b"evil.example", b"evil.example:80", b"127.0.0.2", b"localhost.evil.example"]
)
async def test_a_foreign_host_is_400_and_never_reflected(app_host: DurableTestHost, foreign: bytes) -> None:
    for target in (b"GET /api/health", b"GET /api/bookings/bk_" + b"0" * 32, b"GET /api/openapi.json"):
        status, response = await send_raw(
            app_host, target + b" HTTP/1.1\r\nHost: " + foreign + b"\r\nConnection: close"
        )
        assert status == 400, response
        assert b"Host" in response.split(b"\r\n\r\n", 1)[1]  # a clear message
        assert foreign not in response


async def test_its_own_addresses_are_served(app_host: DurableTestHost) -> None:
    port = urlsplit(app_host.base_url).port
    assert port is not None
    for name in (authority(app_host), b"localhost:%d" % port, b"127.0.0.1"):
        status, response = await send_raw(
            app_host, b"GET /api/openapi.json HTTP/1.1\r\nHost: " + name + b"\r\nConnection: close"
        )
        assert status == 200, (name, response[:200])


# --- control characters in a route value reach the function ----------------------------------------------


@pytest.mark.parametrize(
    "value", [b"a%0Ab", b"a%0D%0Ab", b"a%0Db", b"%0A", b"a%00b", b"a%09b", b"a%7Fb", b"a%1Bb"]
)
async def test_control_characters_in_a_route_value_get_the_apps_404(
    app_host: DurableTestHost, value: bytes
) -> None:
    for suffix in (b"", b"/events"):
        head = b"GET /api/bookings/" + value + suffix + b" HTTP/1.1\r\nHost: " + authority(app_host)
        status, response = await send_raw(app_host, head + b"\r\nConnection: close")
        assert status == 404, response
        head_part, _, body = response.partition(b"\r\n\r\n")
        assert b"application/problem+json" in head_part.lower(), response
        assert json.loads(body)["type"].endswith("booking-not-found")


# --- malformed HTTP: one WARNING line, no traceback, no header bytes ------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/health?code=SECRETQUERY HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: SECRET\x01VALUE",
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer SECRET\x00VALUE",
        b"POST /api/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nContent-Length: SECRET",
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-SECRET" + b"a" * 9000 + b": v",
    ],
    ids=["control-in-value", "nul-in-value", "bad-length", "long-name"],
)
async def test_malformed_http_is_one_warning_line(
    app_host: DurableTestHost, caplog: pytest.LogCaptureFixture, head: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    status, response = await send_raw(app_host, head)
    assert status == 400, response
    assert b"SECRET" not in response
    refused = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(refused) == 1, [r.getMessage() for r in refused]
    record = refused[0]
    line = record.getMessage()
    assert record.levelno == logging.WARNING and record.exc_info is None and "\n" not in line, line
    method, path = head.split(b" ", 2)[:2]
    assert f"{method.decode()} {path.decode().split('?')[0]}" in line, line
    assert "SECRET" not in line and "Traceback" not in caplog.text
    assert all("SECRET" not in r.getMessage() and r.exc_info is None for r in caplog.records)


@pytest.mark.parametrize(
    ("host", "port", "env", "expected"),
    [
        ("127.0.0.1:7071", 7071, {}, True),
        ("LOCALHOST:7071", 7071, {}, True),
        ("127.0.0.1", 7071, {}, True),
        (None, 7071, {}, True),
        ("127.0.0.1:7072", 7071, {}, False),
        ("evil.example", 7071, {}, False),
        ("[::1]:7071", 7071, {}, False),
        ("trips.example.com", 7071, {"PUBLIC_BASE_URL": "https://trips.example.com/"}, True),
        ("abc.ngrok.app:443", 7071, {"PUBLIC_BASE_URL": "https://abc.ngrok.app"}, True),
        ("myapp.azurewebsites.net", 7071, {"WEBSITE_HOSTNAME": "myapp.azurewebsites.net"}, True),
        ("evil.example", 7071, {"PUBLIC_BASE_URL": "https://trips.example.com/"}, False),
    ],
)
def test_own_host_is_a_loopback_name_on_its_port_or_a_configured_name(
    monkeypatch: pytest.MonkeyPatch, host: str | None, port: int, env: dict[str, str], expected: bool
) -> None:
    for name in ("PUBLIC_BASE_URL", "WEBSITE_HOSTNAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert own_host(host, port) is expected
