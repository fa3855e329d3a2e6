"""The storage clients' transport reads the environment per request only when a proxy is configured."""

from __future__ import annotations

import pytest

from devhost.store.azure.clients import CountingTransport, HubClients, RequestCounter, proxy_configured

CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"HOME": "/root", "PATH": "/usr/bin"}, False),
        ({"HTTPS_PROXY": "http://proxy:3128"}, True),
        ({"http_proxy": "http://proxy:3128"}, True),
        ({"NO_PROXY": "localhost"}, True),
        ({"HTTPS_PROXY": ""}, False),
    ],
)
def test_a_proxy_is_configured_only_by_a_non_empty_proxy_variable(
    environ: dict[str, str], expected: bool
) -> None:
    assert proxy_configured(environ) is expected


async def test_the_hub_clients_honour_a_proxy_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert CountingTransport(RequestCounter(), "queue").use_env_settings is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    clients = HubClients.from_connection_string(CONNECTION)
    try:
        services = (clients.tables, clients.queues, clients.blobs)
        transports = [c._client._client._pipeline._transport for c in services]
        assert all(isinstance(t, CountingTransport) and t.use_env_settings for t in transports)
    finally:
        await clients.close()
