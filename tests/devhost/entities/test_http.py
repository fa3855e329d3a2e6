"""The entity routes of the management API (HttpApiHandler, PROTOCOL.md §37), with the SDK's own client and
with raw requests for the answers the SDK does not read."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import azure.durable_functions as df

from devhost.http.testing import DurableTestHost

WEBHOOK = "/runtime/webhooks/durabletask"


def client_for(host: DurableTestHost) -> df.DurableOrchestrationClient:
    return df.DurableOrchestrationClient(host.client_binding)


async def eventually(host: DurableTestHost, name: str, key: str, wanted: Any) -> df.EntityStateResponse:
    client = client_for(host)
    for _ in range(500):
        response = await client.read_entity_state(df.EntityId(name, key))
        if response.entity_exists and response.entity_state == wanted:
            return response
        await asyncio.sleep(0.02)
    raise AssertionError(f"entity {name}/{key} never reached {wanted!r}")


async def test_sdk_client_signal_and_read(host: DurableTestHost) -> None:
    client = client_for(host)
    missing = await client.read_entity_state(df.EntityId("Counter", "web"))
    assert (missing.entity_exists, missing.entity_state) == (False, None)
    await client.signal_entity(df.EntityId("Counter", "web"), "add", 5)
    await client.signal_entity(df.EntityId("Counter", "web"), "add", 2)
    await eventually(host, "Counter", "web", 7)
    # An orchestration sees what the client's signals did.
    instance_id = await client.start_new("add_and_get", None, "web")
    await host.wait_for(instance_id)
    assert (await client.get_status(instance_id)).output == [10, 14]


async def test_sdk_signal_without_input_reaches_the_entity_with_null_input(host: DurableTestHost) -> None:
    client = client_for(host)
    await client.signal_entity(df.EntityId("Log", "empty"), "read")
    # "read" does not touch the input. set_result marks the entity existing, but its state was never set:
    # it exists with the state null: the API answers 200 with the body null, which the SDK's GET helper
    # turns into "" (http_utils.get_async_request).
    await eventually(host, "Log", "empty", "")


async def test_read_route_answers(host: DurableTestHost) -> None:
    base = host.base_url + WEBHOOK
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/entities/Counter/nobody") as r:
            assert (r.status, await r.read()) == (404, b"")
        # The JSON body becomes the operation's input text as is. The Python SDK's get_input decodes that
        # text and then decodes the result once more (DurableEntityContext.get_input), so a bare 4 fails in
        # the entity; the SDK client posts json.dumps(input), i.e. "4", which works.
        async with http.post(f"{base}/entities/Counter/raw?op=add", json=4) as r:
            assert (r.status, await r.read()) == (202, b"")
        async with http.post(f"{base}/entities/Counter/raw?op=add", json="4") as r:
            assert r.status == 202
        await eventually(host, "Counter", "raw", 4)
        # A body that is not JSON is a string input (RequestMessage.SetInput serializes it as one).
        async with http.post(
            f"{base}/entities/Log/text?op=append", data='"hello"', headers={"Content-Type": "text/plain"}
        ) as r:
            assert r.status == 202
        await eventually(host, "Log", "text", ["hello"])
        async with http.get(f"{base}/entities/log/text") as r:
            assert r.status == 200 and await r.json() == ["hello"]
        async with http.delete(f"{base}/entities/Log/text") as r:  # DELETE is the operation "delete"
            assert r.status == 202


async def test_bad_input_answers_400_with_the_runtime_message(host: DurableTestHost) -> None:
    base = host.base_url + WEBHOOK
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/entities/Nope/k?op=add") as r:
            assert r.status == 400
            body = await r.json()
            assert body["Message"].startswith(
                "The function 'nope' doesn't exist, is disabled, or is not an entity function."
            )
        async with http.post(f"{base}/entities/Counter/a%01b?op=add") as r:
            assert r.status == 400
            assert (await r.json())["Message"] == (
                "entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control characters.')"
            )
        async with http.post(
            f"{base}/entities/Counter/k?op=add", data="{nope", headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400
            assert (await r.json())["Message"].startswith("Could not parse JSON content: ")
        async with http.put(f"{base}/entities/Counter/k") as r:
            assert r.status == 404


async def test_sdk_signal_to_unknown_entity_raises(host: DurableTestHost) -> None:
    client = client_for(host)
    try:
        await client.signal_entity(df.EntityId("Nope", "k"), "add", 1)
    except Exception as exc:  # noqa: BLE001 - the SDK raises a bare Exception
        assert "400" in str(exc) or "doesn't exist" in str(exc)
    else:
        raise AssertionError("signal to an unknown entity was accepted")


async def test_list_entities(host: DurableTestHost) -> None:
    client = client_for(host)
    await client.signal_entity(df.EntityId("Counter", "a"), "add", 1)
    await client.signal_entity(df.EntityId("Counter", "b"), "add", 2)
    await client.signal_entity(df.EntityId("Log", "x"), "append", "hi")
    await client.signal_entity(df.EntityId("Counter", "gone"), "add", 3)
    await eventually(host, "Counter", "gone", 3)
    await client.signal_entity(df.EntityId("Counter", "gone"), "delete")
    await eventually(host, "Counter", "b", 2)
    await eventually(host, "Log", "x", ["hi"])
    base = host.base_url + WEBHOOK
    async with aiohttp.ClientSession() as http:
        for _ in range(500):  # until the delete has run
            async with http.get(f"{base}/entities/Counter") as r:
                assert r.status == 200 and r.headers["x-ms-continuation-token"] == ""
                listed = await r.json()
            if len(listed) == 2:
                break
            await asyncio.sleep(0.02)
        # Deleted entities are left out; without fetchState the state is null.
        assert sorted((e["entityId"]["key"], e["state"]) for e in listed) == [("a", None), ("b", None)]
        assert listed[0]["entityId"]["name"] == "counter" and listed[0]["lastOperationTime"].endswith("Z")
        async with http.get(f"{base}/entities/Counter?fetchState=true") as r:
            assert sorted((e["entityId"]["key"], e["state"]) for e in await r.json()) == [("a", 1), ("b", 2)]
        async with http.get(f"{base}/entities?fetchState=true") as r:
            everything = await r.json()
        assert sorted((e["entityId"]["name"], e["entityId"]["key"]) for e in everything) == [
            ("counter", "a"),
            ("counter", "b"),
            ("log", "x"),
        ]
