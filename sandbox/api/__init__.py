"""The sandbox's HTTP APIs: one module per supplier plus the control and inspection API."""
