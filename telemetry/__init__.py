"""The app's telemetry: OpenTelemetry spans and structured log lines, configured once at start.

    telemetry.configure()                       # function_app.py, once: exporters from the settings
    with telemetry.scope(booking_id=..., trip=0):
        with telemetry.span("activity book_flight"):
            ...                                 # spans and log lines here carry booking.id, booking.trip

What is exported is chosen by the environment (`telemetry.setup`): Azure Monitor when
APPLICATIONINSIGHTS_CONNECTION_STRING is set, else the standard OTEL_* settings (OTLP, console), else no
exporter at all. Attributes come only from `scope`'s named keywords, so nothing personal can reach a span
or a log line by accident. Orchestrator code never calls this package: replayed code must emit nothing.
"""

from telemetry.context import current_attributes, scope, span
from telemetry.setup import Telemetry, configure

__all__ = ["Telemetry", "configure", "current_attributes", "scope", "span"]
