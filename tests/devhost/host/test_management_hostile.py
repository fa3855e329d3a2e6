"""Hostile input to the Durable management API over real HTTP: every answer is a 4xx, never a 500, and a
refused request leaves the instance as it was (the next good request still works).

Runs on the in-memory task hub and on Azure Storage (Azurite), whose table keys refuse characters
(`#`, `?`, `/`, control characters) that a hostile instance id can carry.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest

from devhost.http.testing import DurableTestHost

WEBHOOK = "/runtime/webhooks/durabletask"
BASES = [WEBHOOK, "/durabletask"]
JSON = {"Content-Type": "application/json"}
# Deep enough to exhaust Python's JSON parser (its C scanner recurses per level).
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def running_approval(http: aiohttp.ClientSession, host: DurableTestHost) -> str:
    async with http.post(f"{host.base_url}{WEBHOOK}/orchestrators/approval") as r:
        assert r.status == 202, await r.text()
        iid = str((await r.json())["id"])
    for _ in range(500):
        record = await host.status(iid)
        if record is not None and record.runtime_status.name == "Running":
            return iid
        await asyncio.sleep(0.02)
    raise AssertionError("approval never ran")


@pytest.mark.parametrize("base", BASES)
async def test_deeply_nested_json_is_400_and_changes_nothing(
    http: aiohttp.ClientSession, host: DurableTestHost, base: str
) -> None:
    iid = await running_approval(http, host)
    event_url = f"{host.base_url}{base}/instances/{iid}/raiseEvent/Approval"
    async with http.post(event_url, data=DEEP, headers=JSON) as r:
        assert r.status == 400
        body = await r.json()
        assert body["Message"] == "Invalid JSON content" and "StackTrace" not in body
    async with http.post(f"{host.base_url}{base}/orchestrators/approval", data=DEEP, headers=JSON) as r:
        assert r.status == 400
    # Refused means not delivered: the instance still waits, and the next good event completes it.
    record = await host.status(iid)
    assert record is not None and record.runtime_status.name == "Running"
    async with http.post(event_url, json={"ok": True}) as r:
        assert r.status == 202
    done = await host.wait_for(iid)
    assert json.loads(done.output or "") == {"approved": {"ok": True}}


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00"]
)
async def test_a_date_filter_out_of_range_in_utc_is_not_a_500(
    http: aiohttp.ClientSession, host: DurableTestHost, base: str, stamp: str
) -> None:
    query = "createdTimeFrom=" + quote(stamp, safe="")
    async with http.get(f"{host.base_url}{base}/instances?{query}") as r:
        assert r.status == 200  # like any unparseable value, the filter counts as not given
        assert isinstance(await r.json(), list)
    async with http.delete(f"{host.base_url}{base}/instances?{query}") as r:
        assert r.status == 400  # purge by filter needs a createdTimeFrom it can use
    async with http.get(f"{host.base_url}{base}/instances?createdTimeTo={quote(stamp, safe='')}") as r:
        assert r.status == 200


HOSTILE_IDS = [
    "%00",
    "a%23b",
    "a%3Fb",
    "%27%20or%20%271%27%3D%271",
    "x" * 4000,
    "%E2%80%AE",
    "%ff",
    "..",
    "%2e%2e",
]


@pytest.mark.parametrize("instance_id", HOSTILE_IDS)
async def test_hostile_instance_ids_are_4xx(
    http: aiohttp.ClientSession, host: DurableTestHost, instance_id: str
) -> None:
    inst = f"{host.base_url}{WEBHOOK}/instances/{instance_id}"
    calls = [
        ("GET", inst, None),
        ("GET", inst + "?showHistory=true&showHistoryOutput=true", None),
        ("DELETE", inst, None),
        ("POST", inst + "/terminate?reason=x", None),
        ("POST", inst + "/suspend", None),
        ("POST", inst + "/resume", None),
        ("POST", inst + "/restart", None),
        ("POST", inst + "/rewind", None),
        ("POST", inst + "/raiseEvent/Approval", b"{}"),
    ]
    for method, url, data in calls:
        async with http.request(method, url, data=data, headers=JSON) as r:
            assert 400 <= r.status < 500, (method, url[:120], r.status, await r.text())
            if r.content_type == "application/json":
                assert "StackTrace" not in await r.text()


@pytest.mark.parametrize("instance_id", ["a%23b", "a%3Fb", "%01x", "@x", "a%5Cb", "y" * 257])
async def test_start_refuses_instance_ids_the_store_cannot_hold(
    http: aiohttp.ClientSession, host: DurableTestHost, instance_id: str
) -> None:
    async with http.post(f"{host.base_url}{WEBHOOK}/orchestrators/approval/{instance_id}", json=None) as r:
        assert r.status == 400, await r.text()


@pytest.mark.parametrize("event", ["E" * 4000, "%E2%80%AE", "a%20b", "%27"])
async def test_odd_event_names_never_break_the_instance(
    http: aiohttp.ClientSession, host: DurableTestHost, event: str
) -> None:
    iid = await running_approval(http, host)
    async with http.post(f"{host.base_url}{WEBHOOK}/instances/{iid}/raiseEvent/{event}", json=1) as r:
        assert r.status in (202, 400, 404), await r.text()
    async with http.post(f"{host.base_url}{WEBHOOK}/instances/{iid}/raiseEvent/Approval", json=2) as r:
        assert r.status == 202
    done = await host.wait_for(iid)
    assert json.loads(done.output or "") == {"approved": 2}
