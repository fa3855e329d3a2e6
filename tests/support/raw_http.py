"""Requests written byte by byte on their own connection, for what an HTTP client library refuses to send
(malformed heads, hostile headers, raw control characters)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from devhost.http.testing import DurableTestHost


async def send_raw(
    host: DurableTestHost, head: bytes, body: bytes = b"", *, limit: int = -1
) -> tuple[int, bytes]:
    """Send `head` (request line and headers, without the blank line) and `body`; return the status code
    and the raw response: read until the server closes the connection, or `limit` bytes at most (for a
    connection the server keeps open)."""
    address = urlsplit(host.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(head + b"\r\n\r\n" + body)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(limit), timeout=10)
    finally:
        writer.close()
    return int(response.split(b"\r\n", 1)[0].split()[1]), response
