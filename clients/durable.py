"""The Durable client calls the edge makes, with the SDK's loose errors turned into types.

SDK 1.7.0 reports raise_event's 404/410 only as `Exception` text and answers get_status's 404 and
500 alike with a falsy status object (PROTOCOL.md §1.5); those texts and shapes are pinned in
tests/clients/test_durable.py so that an SDK upgrade that changes them fails loudly.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from clients.errors import DurableUnavailable, InstanceGone, InstanceMissing


async def raise_event(client: df.DurableOrchestrationClient, instance_id: str, name: str, data: Any) -> None:
    try:
        await client.raise_event(instance_id, name, data)
    except Exception as exc:
        text = str(exc)
        if "is gone" in text:
            raise InstanceGone(instance_id) from None
        if text.startswith("No instance with ID"):
            raise InstanceMissing(instance_id) from None
        raise DurableUnavailable(f"raise_event failed: {type(exc).__name__}") from exc


async def status_of(
    client: df.DurableOrchestrationClient, instance_id: str, *, history: bool = False
) -> DurableOrchestrationStatus:
    """The instance's status, input included (the API's default); falsy when there is none."""
    try:
        status = await client.get_status(instance_id, show_history=history, show_history_output=history)
    except Exception as exc:
        raise DurableUnavailable(f"get_status failed: {type(exc).__name__}") from exc
    if not status and (getattr(status, "Message", None) or getattr(status, "ExceptionMessage", None)):
        # A 500 from the management API parses into a falsy status carrying the error body.
        raise DurableUnavailable("get_status answered an error")
    return status
