"""The orchestration engine: episodes (replay + REPLAY of actions), activities, worker loop, client.

Knows nothing of HTTP; talks to storage only through ``devhost.store.base.TaskHubStore``."""

from devhost.engine.client import (
    DurableClient,
    InstanceGoneError,
    InstanceNotFoundError,
    UnknownOrchestratorError,
)
from devhost.engine.worker import Engine

__all__ = [
    "DurableClient",
    "Engine",
    "InstanceGoneError",
    "InstanceNotFoundError",
    "UnknownOrchestratorError",
]
