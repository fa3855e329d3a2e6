"""Task-hub stores: the contract (``base``) and the in-memory implementation (``memory``).

The Azure Storage implementation lives in ``devhost.store.azure``."""

from devhost.store.base import (
    ActivityMessage,
    ActivityWorkItem,
    EpisodeCommit,
    InstanceExistsError,
    InstanceQuery,
    InstanceRecord,
    LockLostError,
    OrchestrationMessage,
    OrchestrationWorkItem,
    StoreError,
    TaskHubStore,
)
from devhost.store.memory import MemoryStore

__all__ = [
    "ActivityMessage",
    "ActivityWorkItem",
    "EpisodeCommit",
    "InstanceExistsError",
    "InstanceQuery",
    "InstanceRecord",
    "LockLostError",
    "MemoryStore",
    "OrchestrationMessage",
    "OrchestrationWorkItem",
    "StoreError",
    "TaskHubStore",
]
