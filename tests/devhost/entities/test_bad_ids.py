"""Entity ids the runtime refuses, and those it takes (PROTOCOL.md §37): only the client's signal checks a
key; an orchestrator's call or signal takes any key, and a name with `@` addresses the entity its scheduler
id spells. Through the HTTP API a key with `/` (raw or as %2F) matches no route: 404."""

from __future__ import annotations

import aiohttp
import azure.durable_functions as df
import pytest

from devhost.history import RuntimeStatus
from devhost.http.testing import DurableTestHost
from devhost.testing import AsyncDurableHarness
from tests.devhost.entities.test_http import WEBHOOK, client_for

ODD_KEY = "a/b\\c#d?e\x01f g"


async def test_an_orchestrator_may_use_a_key_the_client_refuses(harness: AsyncDurableHarness) -> None:
    # OutOfProcOrchestrationShim reads the id with EntityId.GetEntityIdFromSchedulerId; nothing checks
    # the key (only DurableClient.SignalEntityAsync does), and the task hub escapes it (KeySanitation).
    st = await harness.wait_for_completion(await harness.start_new("odd_ids", ["Counter", ODD_KEY]))
    assert (st.runtime_status, st.output) == (RuntimeStatus.Completed, 2)
    assert await harness.client.read_entity_state("Counter", ODD_KEY) == (True, "2")


async def test_a_name_with_an_at_sign_addresses_the_entity_its_scheduler_id_spells(
    harness: AsyncDurableHarness,
) -> None:
    # "@counter@x@k": the name runs to the second "@", so this is the entity counter with the key "x@k".
    st = await harness.wait_for_completion(await harness.start_new("odd_ids", ["Counter@x", "k"]))
    assert (st.runtime_status, st.output) == (RuntimeStatus.Completed, 2)
    assert await harness.client.read_entity_state("Counter", "x@k") == (True, "2")


@pytest.mark.parametrize("path", ["Counter/a/b", "Counter/a%2Fb"])
async def test_a_slash_in_the_key_matches_no_route(host: DurableTestHost, path: str) -> None:
    # The extension decodes the path before matching entities/{entityName?}/{entityKey?}, so %2F is a "/"
    # too (azure-functions-durable-extension issue #1124): no route, 404 with an empty body.
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{host.base_url}{WEBHOOK}/entities/{path}?op=add", json="1") as r:
            assert (r.status, await r.read()) == (404, b"")
        async with http.get(f"{host.base_url}{WEBHOOK}/entities/{path}") as r:
            assert (r.status, await r.read()) == (404, b"")


async def test_the_sdk_client_with_a_slash_in_the_key(host: DurableTestHost) -> None:
    # The SDK puts the key into the URL as it is (EntityId.get_entity_id_url_path): the signal gets the
    # 404 and raises the SDK's own message; reading the state finds no entity.
    client = client_for(host)
    with pytest.raises(Exception, match="^The operation failed with an unexpected status code 404$"):
        await client.signal_entity(df.EntityId("Counter", "a/b"), "add", 1)
    state = await client.read_entity_state(df.EntityId("Counter", "a/b"))
    assert (state.entity_exists, state.entity_state) == (False, None)
