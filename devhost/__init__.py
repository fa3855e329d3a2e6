"""devhost: a local Python host for an unmodified Durable Functions (Python v2) app.

Layers: app loader/index -> HTTP front + management API -> engine (``devhost.engine``)
-> task-hub store (``devhost.store``).
``devhost.testing`` runs an app in-process on the in-memory store with virtual time."""
