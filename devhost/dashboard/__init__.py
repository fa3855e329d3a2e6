"""The devhost dashboard: a browser view of a task hub's orchestrations, served under `/_devhost/`.

`api.DashboardApi` answers the pages and their JSON API over the store interface (through the durable
client), so it works on every store; the engine knows nothing of it. See README.md in this folder.
"""
