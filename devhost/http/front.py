"""The HTTP front: serves the app's HTTP triggers under the route prefix, as the Functions host does.

Request → `func.HttpRequest`, keyword arguments by binding name (+ `context`, + the durableClient binding
JSON), sync functions in a thread pool and async ones on the loop, `func.HttpResponse` or `str` back.
A function that raises gives 500 with an empty body; the traceback is logged with the invocation id.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import uuid
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

from devhost import spans
from devhost.app_index import HttpFunction
from devhost.execlog import HTTP_REASON, execution
from devhost.http.binding import DurableUrls
from devhost.http.context import InvocationContext
from devhost.http.keys import HostKeys
from devhost.http.routes import RouteTemplate
from devhost.tracing import TraceContext, from_headers, new_trace

log = logging.getLogger(__name__)


def execution_log_level(method: str) -> int:
    """GETs are mostly clients polling a status: their Executing/Executed pair is DEBUG, or two lines per
    poll would bury everything else; every other execution is INFO, as the Functions host logs it."""
    return logging.DEBUG if method.upper() == "GET" else logging.INFO

# What the Functions host accepts by default (maxRequestBodySize ~100 MB).
MAX_BODY = 100 * 1024 * 1024
ALL_METHODS = "GET,POST,DELETE,HEAD,PATCH,PUT,OPTIONS"
_SERVED_BINDINGS = frozenset({"httpTrigger", "http", "durableClient"})


@dataclass
class ServedFunction:
    """One HTTP trigger with its compiled route."""

    function: HttpFunction
    template: RouteTemplate

    @property
    def name(self) -> str:
        return self.function.function_name

    def allows(self, method: str) -> bool:
        methods = self.function.methods
        return methods is None or method.upper() in methods


def route_path(route_prefix: str, route: str) -> str:
    """The URL path func prints for a route (`/api/orchestrators/{functionName}`)."""
    parts = [p for p in (route_prefix.strip("/"), route.strip("/")) if p]
    return "/" + "/".join(parts)


def compile_functions(functions: list[HttpFunction]) -> list[ServedFunction]:
    """Compile every route, most specific first.

    ASP.NET precedence: literals, then constrained, plain, optional parameters, then catch-alls."""
    served = [ServedFunction(f, RouteTemplate(f.route)) for f in functions]
    served.sort(key=lambda s: s.template.precedence)
    return served


def _flatten(pairs: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def to_http_request(request: web.Request, body: bytes, route_params: Mapping[str, str]) -> func.HttpRequest:
    """What the worker builds from the host's RpcHttp: full URL, headers, query params, route values, body."""
    headers: dict[str, str] = {}
    for key in request.headers:
        if key.lower() not in headers:
            headers[key.lower()] = ",".join(request.headers.getall(key))  # StringValues.ToString()
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=headers,
        params=_flatten(request.query.items()),
        route_params=dict(route_params),
        body=body,
    )


def to_web_response(result: Any) -> web.Response:
    """`func.HttpResponse` or `str` → aiohttp response (the worker's HttpResponseConverter rules). Anything
    else, None included, is an "unable to encode outgoing TypedData" failure in the worker: TypeError."""
    if isinstance(result, str):
        return web.Response(body=result.encode("utf-8"), status=200,
                            headers={"Content-Type": "text/plain; charset=utf-8"})
    if isinstance(result, func.HttpResponse):
        headers: CIMultiDict[str] = CIMultiDict()
        for key, value in result.headers.items():
            headers.add(key, value)
        if "content-type" not in headers:
            mimetype = result.mimetype
            text = mimetype.startswith("text/")
            headers["Content-Type"] = f"{mimetype}; charset={result.charset}" if text else mimetype
        return web.Response(body=result.get_body() or b"", status=int(result.status_code), headers=headers)
    raise TypeError(
        f"unsupported HTTP function result {type(result).__name__} (expected HttpResponse or str)"
    )


def _presented_key(request: web.Request) -> str | None:
    return request.headers.get("x-functions-key") or request.query.get("code")


def _runs_authorization(level: str, request: web.Request) -> bool:
    """FunctionInvocationMiddleware.RequiresAuthz: an anonymous function is authorized (and its caller
    given claims) only when the request carries a key or an App Service identity header."""
    if level != "ANONYMOUS":
        return True
    return any(h in request.headers for h in ("x-functions-key", "x-ms-client-principal")) or (
        "code" in request.query
    )


class HttpFront:
    """Dispatches requests under the route prefix to the app's HTTP-triggered functions."""

    def __init__(
        self,
        functions: list[HttpFunction],
        *,
        route_prefix: str,
        urls: DurableUrls,
        executor: Executor | None,
        app_root: Path,
        keys: HostKeys | None = None,
        disabled: frozenset[str] = frozenset(),
    ) -> None:
        self.served = compile_functions(functions)
        self.disabled = disabled  # function names, lower case
        for fn in functions:
            for binding in fn.bindings:
                if binding.get("type") not in _SERVED_BINDINGS:
                    # The worker would bind it from the host; devhost has nothing to bind it from.
                    log.warning("function %s: binding %r of type %s is not supported by devhost; "
                                "calls will fail", fn.function_name, binding.get("name"), binding.get("type"))
        self.route_prefix = route_prefix.strip("/")
        self.urls = urls
        self.executor = executor
        self.app_root = app_root
        self.keys = keys

    def listing(self, origin: str) -> list[tuple[str, str, str]]:
        """(name, methods, URL) per function, for the startup banner."""
        rows = []
        for s in sorted(self.served, key=lambda s: s.name.lower()):
            methods = ",".join(s.function.methods) if s.function.methods else ALL_METHODS
            rows.append((s.name, methods, origin + route_path(self.route_prefix, s.function.route)))
        return rows

    def _relative(self, raw_path: str) -> str | None:
        path = raw_path.split("?", 1)[0]
        if not self.route_prefix:
            return path
        prefix = "/" + self.route_prefix
        if path.lower() == prefix.lower() or path.lower() == prefix.lower() + "/":
            return ""
        if path.lower().startswith(prefix.lower() + "/"):
            return path[len(prefix):]
        return None

    def match(self, method: str, raw_path: str) -> tuple[ServedFunction, dict[str, str]] | None:
        relative = self._relative(raw_path)
        if relative is None:
            return None
        for served in self.served:
            values = served.template.match(relative)
            if values is not None and served.allows(method):
                return served, values
        return None

    def _authorized(self, served: ServedFunction, request: web.Request) -> bool:
        if self.keys is None:
            return True
        level = served.function.auth_level.upper()
        if level == "ANONYMOUS":
            return True
        key = _presented_key(request)
        if not key:
            return False
        if level == "ADMIN":
            return self.keys.is_master(key)
        return self.keys.allows_function(served.name, key)

    def _disabled(self, served: ServedFunction) -> bool:
        return served.name.lower() in self.disabled

    def _admin(self, served: ServedFunction, request: web.Request) -> bool:
        """Whether the caller holds the admin level. Without --auth every authorized request does, as under
        `func start` (its CliAuthenticationHandler gives every request the Admin claim); with --auth only the
        master key does."""
        if not _runs_authorization(served.function.auth_level.upper(), request):
            return False
        if self.keys is None:
            return True
        key = _presented_key(request)
        return key is not None and self.keys.is_master(key)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path in ("", "/"):
            return web.Response(text="Your devhost Functions app is up and running.")
        found = self.match(request.method, request.raw_path)
        if found is None:
            # ASP.NET routing: a route whose method constraint fails does not match, hence 404 (not 405).
            return web.Response(status=404)
        served, route_values = found
        if not self._authorized(served, request):
            return web.Response(status=401)
        if self._disabled(served) and not self._admin(served, request):
            # The host answers a disabled function's route 404 unless the caller is admin (PROTOCOL.md §38).
            return web.Response(status=404)
        body = await request.read()
        return await self.invoke(served, request, body, route_values)

    async def invoke(
        self, served: ServedFunction, request: web.Request, body: bytes, route_values: Mapping[str, str]
    ) -> web.Response:
        invocation_id = str(uuid.uuid4())
        fn = served.function
        level = execution_log_level(request.method)
        trace, began = from_headers(request.headers), spans.now_ns()
        with execution(fn.function_name, invocation_id, HTTP_REASON, level=level) as run:
            try:
                result = await self.call(
                    fn, to_http_request(request, body, route_values), invocation_id=invocation_id, trace=trace
                )
                response = to_web_response(result)
            except Exception as exc:  # noqa: BLE001 - a function's failure is a 500, as the host answers
                run.failed(exc)
                response = web.Response(status=500)
        route = route_path(self.route_prefix, fn.route)
        spans.http_request(trace, request.method, route, response.status, began)
        return response

    async def call(
        self,
        fn: HttpFunction,
        http_request: func.HttpRequest,
        *,
        invocation_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> Any:
        """Invoke one HTTP function as the worker does (keyword arguments by binding name) and return what it
        returned; exceptions propagate. ``trace``: the invocation's context (a new trace when None)."""
        invocation_id = invocation_id or str(uuid.uuid4())
        kwargs: dict[str, Any] = {fn.trigger_name: http_request}
        if fn.client_binding is not None and fn.client_name is not None:
            kwargs[fn.client_name] = self.urls.client_binding_json(
                fn.client_binding.get("taskHub"), fn.client_binding.get("connectionName")
            )
        if fn.wants_context:
            kwargs["context"] = InvocationContext(
                invocation_id, fn.function_name, str(self.app_root), trace or new_trace()
            )
        if fn.is_async:
            return await fn.fn(**kwargs)
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self.executor, functools.partial(ctx.run, fn.fn, **kwargs))
