"""Small helpers for sandbox tests: unique travellers and keys, problem assertions, polling."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx


def email(*tags: str) -> str:
    """A traveller email nobody else in the session uses, with the given scenario tags."""
    local = "t" + uuid.uuid4().hex[:12]
    return f"{local}{''.join('+' + t for t in tags)}@example.com"


def key() -> str:
    return "k-" + uuid.uuid4().hex


def traveller(*tags: str) -> dict[str, str]:
    return {"name": "Ada Lovelace", "email": email(*tags)}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"].endswith(code) and body["title"] and body["detail"]
    return body


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` until true (bounded): the sandbox works asynchronously, tests must not sleep blind."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def post(client: httpx.AsyncClient, path: str, body: Any, idem: str | None = None) -> httpx.Response:
    return await client.post(path, json=body, headers={"Idempotency-Key": idem or key()})
