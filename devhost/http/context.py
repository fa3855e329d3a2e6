"""A concrete `azure.functions.Context`, as the worker passes to functions that declare `context`."""

from __future__ import annotations

import threading

import azure.functions as func
from azure.functions import _abc

from devhost.tracing import FunctionTraceContext, TraceContext


class InvocationContext(func.Context):
    """Invocation id, function name and directory, the invocation's trace context (PROTOCOL.md §35); no
    retry context (as for HTTP)."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str,
                 trace: TraceContext | None = None) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = FunctionTraceContext(trace)
        self._tls = threading.local()
        self._tls.invocation_id = invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> threading.local:  # type: ignore[override]
        return self._tls

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> _abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> _abc.RetryContext:
        return None  # type: ignore[return-value]
