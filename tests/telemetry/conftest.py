"""An SDK tracer provider with an in-memory exporter, installed as the global one for a test.

OpenTelemetry lets a process set its global provider once; these tests reset that guard the way the
SDK's own test utilities do, and put back whatever was there afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from telemetry.context import ScopeSpanProcessor


def _set_global(provider: trace.TracerProvider | None) -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    if provider is not None:
        trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span ended during the test, with the app's scope attributes, as the app's provider has them."""
    previous = trace._TRACER_PROVIDER
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(ScopeSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _set_global(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        _set_global(previous)
