"""Run one activity the way the Python worker + the extension's TaskActivityShim do (PROTOCOL.md §1.3, §2.6).

Input: the CallActivity action's ``input`` text, decoded with the SDK's ``ActivityTriggerConverter``
(df_loads, raw-string fallback). Output: ``df_dumps`` via the converter, re-serialised compactly
(Newtonsoft) into ``TaskCompleted.Result``. An exception becomes ``TaskFailed`` with the extension's
Reason/Details format.
"""

from __future__ import annotations

import asyncio
import functools
import json
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.execlog import DURABLE_REASON, execution
from devhost.history import compact_json
from devhost.tracing import FunctionTraceContext, TraceContext, new_trace

_RPC_EXCEPTION = "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script"


@dataclass(frozen=True)
class ActivityOutcome:
    ok: bool
    result: str | None = None  # TaskCompleted.Result (JSON text)
    reason: str | None = None  # TaskFailed.Reason
    details: str | None = None  # TaskFailed.Details
    trace: TraceContext | None = None  # the invocation's trace context (its span's id, PROTOCOL.md §35)


class InvocationContext:
    """What the worker passes as ``context=`` (azure.functions.Context's attributes)."""

    def __init__(
        self, function_name: str, function_directory: str = "", trace: TraceContext | None = None
    ) -> None:
        self.invocation_id = str(uuid.uuid4())
        self.function_name = function_name
        self.function_directory = function_directory
        self.trace_context = FunctionTraceContext(trace)
        self.retry_context = None
        self.thread_local_storage = None


def decode_input(text: str | None) -> Any:
    """The value the activity parameter receives (worker: ActivityTriggerConverter.decode of a string)."""
    if text is None:
        return None
    return ActivityTriggerConverter.decode(meta.Datum(type="string", value=text), trigger_metadata=None)


def encode_output(value: Any) -> str:
    """TaskCompleted.Result: the worker's df_dumps, re-serialised compactly like the extension does."""
    datum = ActivityTriggerConverter.encode(value, expected_type=None)
    text = str(datum.value)
    try:
        return compact_json(json.loads(text))
    except ValueError:
        return text


def failure(name: str, exc: BaseException) -> ActivityOutcome:
    """Reason/Details exactly as the extension builds them from the worker's RpcException (PROTOCOL.md
    §2.6)."""
    msg = f"{type(exc).__name__}: {exc}"
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    rpc_message = f"Result: Failure\nException: {msg}\nStack: {stack}"
    inner = _dotnet_exception(
        {
            "$type": _RPC_EXCEPTION,
            "IsUserException": False,
            "RemoteStackTrace": stack,
            "RemoteMessage": msg,
            "RemoteTypeName": type(exc).__name__,
        },
        "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
        rpc_message,
        inner=None,
    )
    details = _dotnet_exception(
        {"$type": "System.Exception, System.Private.CoreLib"}, "System.Exception", f" {msg}", inner=inner
    )
    return ActivityOutcome(
        ok=False, reason=f"Activity function '{name}' failed:  {msg}", details=compact_json(details)
    )


async def run_activity(
    name: str,
    fn: Callable[..., Any],
    *,
    input_text: str | None,
    input_name: str | None,
    is_async: bool,
    wants_context: bool,
    executor: Executor | None,
    function_name: str | None = None,
    scheduled_by: TraceContext | None = None,
) -> ActivityOutcome:
    """Invoke ``fn`` with the decoded input (keyword ``input_name``; positional when None, for harness
    fakes) and turn the outcome into TaskCompleted/TaskFailed fields. Never raises for user errors.
    ``function_name`` (the Functions name, default the durable one) names it in the host's log lines.
    ``scheduled_by``: the TaskScheduled's ParentTraceContext; the invocation runs in a child span of it
    (in a new trace when there is none, as for work scheduled before tracing), PROTOCOL.md §35."""
    trace = scheduled_by.child() if scheduled_by is not None else new_trace()
    invocation = InvocationContext(name, trace=trace)
    with execution(function_name or name, invocation.invocation_id, DURABLE_REASON) as run:
        try:
            value = decode_input(input_text)
            if input_name is None:
                args: tuple[Any, ...] = (value,)
                kwargs: dict[str, Any] = {}
            else:
                args = ()
                kwargs = {input_name: value}
            if wants_context:
                kwargs["context"] = invocation
            if is_async:
                ret = await fn(*args, **kwargs)
            else:
                loop = asyncio.get_running_loop()
                ret = await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))
                if asyncio.iscoroutine(ret):  # a sync-looking callable that returned a coroutine (a lambda)
                    ret = await ret
            return ActivityOutcome(ok=True, result=encode_output(ret), trace=trace)
        except Exception as exc:  # noqa: BLE001 - every user error becomes TaskFailed, like the worker
            run.failed(exc)
            return replace(failure(name, exc), trace=trace)


# The fields every serialized .NET exception ends with, in Json.NET's order (PROTOCOL.md §2.6).
_EXCEPTION_TAIL: dict[str, Any] = {
    "HelpURL": None,
    "StackTraceString": None,
    "RemoteStackTraceString": None,
    "RemoteStackIndex": 0,
    "ExceptionMethod": None,
    "HResult": -2146233088,
    "Source": None,
    "WatsonBuckets": None,
}


def _dotnet_exception(
    head: dict[str, Any], class_name: str, message: str, *, inner: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        **head,
        "ClassName": class_name,
        "Message": message,
        "Data": None,
        "InnerException": inner,
        **_EXCEPTION_TAIL,
    }
