"""Hostile requests at devhost's HTTP front, written as raw bytes (HTTP clients refuse to send most of them):
malformed Host headers, framing tricks, oversized heads, bad methods. Every answer is a 4xx, no function
runs for a request the host refuses, and the host keeps serving.
"""

from __future__ import annotations

import aiohttp
import pytest

from devhost.http.server import valid_host
from devhost.http.testing import DurableTestHost
from tests.support.raw_http import send_raw

WEBHOOK = "/runtime/webhooks/durabletask"


async def send_raw_kept_open(host: DurableTestHost, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """These requests may leave the connection open: read one answer's worth, not until close."""
    return await send_raw(host, head, body, limit=65536)


async def instance_count(host: DurableTestHost) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{host.base_url}{WEBHOOK}/instances") as r:
        assert r.status == 200
        return len(await r.json())


@pytest.mark.parametrize(
    "value",
    ["127.0.0.1:7071", "localhost", "[::1]:8080", "example.com", "a_b.example", "host:"],
)
def test_hosts_that_name_a_server_are_valid(value: str) -> None:
    assert valid_host(value)


@pytest.mark.parametrize(
    "value",
    [
        "[::1",
        "evil.example:99999",
        "h%0d%0aSet-Cookie:x",
        "a b",
        "a:b:c",
        "x/y",
        "x@y",
        "x?y",
        "x#y",
        "é.example",
    ],
)
def test_hosts_that_cannot_be_a_url_authority_are_invalid(value: str) -> None:
    assert not valid_host(value)


@pytest.mark.parametrize(
    "bad_host",
    [b"evil.example:99999", b"h%0d%0aSet-Cookie:x", b"a b", b"[::1", b"x/y"],
)
async def test_a_malformed_host_is_400_and_starts_nothing(host: DurableTestHost, bad_host: bytes) -> None:
    """The function would build its check-status URLs from the Host: a Host yarl cannot parse used to fail
    after the function ran (a started orchestration behind a 500)."""
    before = await instance_count(host)
    head = (
        b"POST /api/start/approval HTTP/1.1\r\nHost: " + bad_host + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4\r\nConnection: close"
    )
    status, response = await send_raw_kept_open(host, head, b"null")
    assert status == 400, response
    for path in (b"/runtime/webhooks/durabletask/instances", b"/api/hello/x"):
        status, response = await send_raw_kept_open(host, b"GET " + path + b" HTTP/1.1\r\nHost: " + bad_host)
        assert status == 400, response
    assert await instance_count(host) == before


@pytest.mark.parametrize(
    ("head", "body"),
    [
        (b"GET /api/hello/x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000, b""),
        (b"GET /api/hello/x HTTP/1.1\r\nHost: x\r\n" + b"\r\n".join(b"X-%d: a" % i for i in range(200)), b""),
        (b"GET /api/hello/x HTTP/1.1\r\nHost: x\r\nX-A: a\rb", b""),
        (b"GET /api/hello/x HTTP/1.1\r\nHost: x\r\nX-A: a\x00b", b""),
        (b"POST /api/start/approval HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked", b"zz\r\n"),
        (b"POST /api/start/approval HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5", b"null"),
        (b"POST /api/start/approval HTTP/1.1\r\nHost: x\r\nContent-Length: -1", b"null"),
        (b"BREW /api/hello/x HTTP/1.1\r\nHost: x", b""),
        (b"GET /api/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x", b""),
    ],
    ids=[
        "big-header",
        "many-headers",
        "bare-cr",
        "nul-in-header",
        "bad-chunk",
        "two-lengths",
        "negative-length",
        "unknown-method",
        "long-target",
    ],
)
async def test_malformed_framing_is_400_and_the_host_keeps_serving(
    host: DurableTestHost, head: bytes, body: bytes
) -> None:
    before = await instance_count(host)
    status, response = await send_raw_kept_open(host, head, body)
    assert status == 400, response
    assert b"Traceback" not in response
    assert await instance_count(host) == before
    async with aiohttp.ClientSession() as http, http.get(f"{host.base_url}/admin/host/ping") as r:
        assert r.status == 200


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_a_method_the_function_does_not_take_is_404_and_runs_nothing(
    host: DurableTestHost, method: str
) -> None:
    before = await instance_count(host)
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{host.base_url}/api/start/approval", json=None) as r:
            assert r.status == 404
    assert await instance_count(host) == before


async def test_a_bounded_burst_of_random_hostile_requests_never_gets_a_5xx(host: DurableTestHost) -> None:
    """200 requests assembled (seeded) from hostile pieces: every answer is below 500 or a closed connection,
    and the host still serves afterwards."""
    import random

    rng = random.Random(20261120)
    methods = [b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"HEAD", b"G\x00T"]
    paths = [
        b"/api/start/approval",
        b"/api/start/%00",
        b"/api/start/..%2F..%2Fadmin",
        b"/runtime/webhooks/durabletask/instances",
        b"/runtime/webhooks/durabletask/instances/%ff/raiseEvent/%0a",
        b"/durabletask/orchestrators/approval/%23",
        b"/durabletask/instances?top=-1&createdTimeFrom=0001-01-01T00:00:00%2B09:00",
        b"/api/" + b"x" * 3000,
        b"/admin/host/status",
        b"/%2e%2e/%2e%2e/etc/passwd",
        b"/api/start/approval?code=" + b"k" * 500,
    ]
    headers = [
        b"Content-Type: application/json",
        b"Content-Type: text/plain; charset=\xff",
        b"Content-Type: ",
        b"X-Functions-Key: \xff\xfe",
        b"Host: [::1",
        b"Host: a:99999",
        b"Accept: */*",
        b"Transfer-Encoding: gzip",
        b"Expect: 100-continue",
        b"x-ms-continuation-token: \x01\x02",
        b"Cookie: " + b"c" * 4000,
    ]
    bodies = [b"", b"null", b"{", b"[" * 5000, b"\xff\xfe\x00", b'{"a": NaN}', b'"' + b"a" * 10000 + b'"']
    for _ in range(200):
        body = rng.choice(bodies)
        head = rng.choice(methods) + b" " + rng.choice(paths) + b" HTTP/1.1\r\nHost: 127.0.0.1"
        for extra in rng.sample(headers, rng.randint(0, 3)):
            head += b"\r\n" + extra
        head += b"\r\nContent-Length: %d\r\nConnection: close" % len(body)
        try:
            status, response = await send_raw_kept_open(host, head, body)
        except (ConnectionError, IndexError, ValueError):
            continue  # the server closed the connection on garbage: also a refusal
        if status >= 500:
            # Only the test app's own function may fail (it trusts its input): then the host answers an
            # empty 500, never the traceback.
            assert b" /api/start/" in head.split(b"\r\n", 1)[0], (head[:200], response[:300])
            assert status == 500 and response.endswith(b"\r\n\r\n"), response[:300]
        assert b"Traceback" not in response
    async with aiohttp.ClientSession() as http, http.get(f"{host.base_url}/admin/host/ping") as r:
        assert r.status == 200
