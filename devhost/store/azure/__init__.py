"""Azure Storage task hub for devhost (DurableTask.AzureStorage layout; works with Azurite and real accounts).

``create_store(connection_string, hub_name=..., partition_count=4, max_polling_interval=30.0)`` returns an
``AzureStorageStore``; ``await store.open()`` creates the tables, queues and container and fails fast with
``StorageUnavailableError`` when the account cannot be reached.
"""

from devhost.store.azure.clients import RequestCounter
from devhost.store.azure.store import AzureStorageStore, StorageUnavailableError, create_store

__all__ = ["AzureStorageStore", "RequestCounter", "StorageUnavailableError", "create_store"]
