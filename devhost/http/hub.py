"""What the management API needs from the engine: the client operations of one task hub.

The HTTP layer is written against this protocol; `devhost.engine.client.DurableClient` implements
it. Payloads are JSON text as received; the client stores them as DTFx would.
"""

from __future__ import annotations

from typing import Any, Protocol

from devhost.engine.client import (
    InstanceGoneError,
    InstanceNotFoundError,
    InvalidInstanceStateError,
    UnknownOrchestratorError,
)
from devhost.history import HistoryEvent
from devhost.store.base import InstanceQuery, InstanceRecord


class HubClient(Protocol):
    """Client operations on one task hub. Errors: `InstanceExistsError` (start on a running id),
    `UnknownOrchestratorError`, `InstanceNotFoundError` (404), `InstanceGoneError` (410), `ValueError` for a
    bad instance id or continuation token."""

    hub_name: str

    async def start(
        self, name: str, instance_id: str | None, input_json: str | None, version: str | None = None,
        *, trace: dict[str, Any] | None = None,
    ) -> str:
        """Create the instance (Pending) and enqueue ExecutionStarted (``trace``: its ParentTraceContext);
        returns the instance id."""
        ...

    async def get_instance(self, instance_id: str) -> InstanceRecord | None: ...

    async def get_history(self, instance_id: str) -> list[HistoryEvent]:
        """History of the current execution, as persisted."""
        ...

    async def query(
        self, query: InstanceQuery, page_size: int, continuation: str | None
    ) -> tuple[list[InstanceRecord], str | None]: ...

    async def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None: ...

    async def terminate(self, instance_id: str, reason: str | None) -> None: ...

    async def suspend(self, instance_id: str, reason: str | None) -> None: ...

    async def resume(self, instance_id: str, reason: str | None) -> None: ...

    async def restart(self, instance_id: str, new_instance_id: bool) -> str:
        """Start the instance's orchestrator again with its original input; returns the (new) instance id."""
        ...

    async def purge(self, instance_id: str) -> int: ...

    async def signal_entity(self, name: str, key: str, operation: str, input_text: str | None) -> None:
        """Send an operation to an entity; ValueError (with the runtime's message) for a bad id or an
        unknown entity function."""
        ...

    async def read_entity_state(self, name: str, key: str) -> tuple[bool, str | None]:
        """(exists, serialized state) of an entity."""
        ...

    async def purge_by(self, query: InstanceQuery) -> int: ...


__all__ = [
    "HubClient",
    "InstanceGoneError",
    "InstanceNotFoundError",
    "InvalidInstanceStateError",
    "UnknownOrchestratorError",
]
