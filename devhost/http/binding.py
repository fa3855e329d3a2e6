"""The URLs the Durable extension hands out: the durableClient binding JSON (PROTOCOL.md §1.4) and the
management payload of check-status responses (PROTOCOL.md §5.2).

devhost serves the extension's local RPC endpoint on the same port as the HTTP front, under `/durabletask/`
(the real host uses a second listener on 127.0.0.1:17071); the SDK only needs `rpcBaseUrl` to point at it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote_plus

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask"
INSTANCE_PLACEHOLDER = "INSTANCEID"


def connection_short_name(connection_name: str) -> str:
    """WebJobs short name of a connection setting: `AzureWebJobsStorage` is `Storage` in URLs."""
    prefix = "AzureWebJobs"
    if connection_name.lower().startswith(prefix.lower()) and len(connection_name) > len(prefix):
        return connection_name[len(prefix):]
    return connection_name


def url_encode(value: str) -> str:
    """.NET WebUtility.UrlEncode: spaces become `+`, everything but unreserved characters is escaped."""
    return quote_plus(value, safe="-_.!*()")


@dataclass(frozen=True)
class DurableUrls:
    """Where the management API lives and which key (if any) its URLs carry."""

    origin: str  # scheme://host:port of the public HTTP front, no trailing slash
    hub_name: str
    connection: str = "Storage"
    system_key: str | None = None  # appended as `code=` when `--auth` is on

    @property
    def base_url(self) -> str:
        return self.origin + WEBHOOK_PATH

    @property
    def rpc_base_url(self) -> str:
        return self.origin + RPC_PATH + "/"

    def _query_suffix(self, hub: str | None, connection: str | None) -> str:
        suffix = (
            f"taskHub={url_encode(hub or self.hub_name)}"
            f"&connection={url_encode(connection or self.connection)}"
        )
        if self.system_key:
            suffix += f"&code={self.system_key}"
        return suffix

    def management_payload(
        self,
        instance_id: str,
        *,
        origin: str | None = None,
        hub: str | None = None,
        connection: str | None = None,
        encode_id: bool = True,
        include_rewind: bool = False,
        return_500_on_failure: bool = False,
    ) -> dict[str, str]:
        """The extension's HttpManagementPayload; `origin` replaces the host part (request-relative links)."""
        prefix = (origin or self.origin) + WEBHOOK_PATH + "/instances/"
        prefix += url_encode(instance_id) if encode_id else instance_id
        qs = self._query_suffix(hub, connection)
        status_qs = qs + ("&returnInternalServerErrorOnFailure=true" if return_500_on_failure else "")
        payload = {
            "id": instance_id,
            "statusQueryGetUri": f"{prefix}?{status_qs}",
            "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{qs}",
            "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{qs}",
        }
        if include_rewind:
            payload["rewindPostUri"] = f"{prefix}/rewind?reason={{text}}&{qs}"
        payload.update(
            {
                "purgeHistoryDeleteUri": f"{prefix}?{qs}",
                "restartPostUri": f"{prefix}/restart?{qs}",
                "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{qs}",
                "resumePostUri": f"{prefix}/resume?reason={{text}}&{qs}",
            }
        )
        return payload

    def client_binding(
        self, task_hub: str | None = None, connection_name: str | None = None
    ) -> dict[str, object]:
        """The durableClient binding value for a function (EXT `OrchestrationClientInputData`)."""
        hub = task_hub or self.hub_name
        connection = connection_short_name(connection_name) if connection_name else self.connection
        key_qs = f"code={self.system_key}" if self.system_key else ""
        creation = self.base_url + "/orchestrators/{functionName}[/{instanceId}]"
        return {
            "taskHubName": hub,
            "connectionName": connection_name,
            "creationUrls": {
                "createNewInstancePostUri": f"{creation}?{key_qs}",
                "createAndWaitOnNewInstancePostUri": (
                    f"{creation}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                    + (f"&{key_qs}" if key_qs else "&")
                ),
            },
            "managementUrls": self.management_payload(
                INSTANCE_PLACEHOLDER, hub=hub, connection=connection, encode_id=False, include_rewind=True
            ),
            "baseUrl": self.base_url,
            "requiredQueryStringParameters": key_qs,
            "rpcBaseUrl": self.rpc_base_url,
            "httpBaseUrl": None,
        }

    def client_binding_json(self, task_hub: str | None = None, connection_name: str | None = None) -> str:
        """What the worker passes to a function's durableClient parameter: the binding value as a string."""
        return json.dumps(self.client_binding(task_hub, connection_name))
