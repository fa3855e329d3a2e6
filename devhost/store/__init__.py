"""Task-hub stores: the contract (``base``) and the in-memory implementation (``memory``).

The Azure Storage implementation lives in ``devhost.store.azure``."""

from devhost.store.base import *  # noqa: F403 - the contract's names, listed once in base.__all__
from devhost.store.memory import MemoryStore as MemoryStore
