"""The Durable Functions HTTP management API (EXT `HttpApiHandler`), served under the public webhook base
`/runtime/webhooks/durabletask/` and the SDK's RPC base `/durabletask/` by the same handler.

Routes, query names (case-insensitive), status codes and bodies follow PROTOCOL.md §5; deviations from the
reference are commented where they are made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from devhost import spans
from devhost.engine import entities
from devhost.history import TERMINAL_STATUSES, RuntimeStatus, compact_json
from devhost.http.binding import RPC_PATH, WEBHOOK_PATH, DurableUrls
from devhost.http.hub import (
    HubClient,
    InstanceGoneError,
    InstanceNotFoundError,
    InvalidInstanceStateError,
    UnknownOrchestratorError,
)
from devhost.http.keys import DURABLE_SYSTEM_KEY, HostKeys
from devhost.http.status import history_events, status_payload
from devhost.store.base import InstanceExistsError, InstanceQuery
from devhost.tracing import from_headers, to_dtfx

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
MAX_INSTANCE_ID_LENGTH = 256
_INVALID_ID_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")

# Route templates of HttpApiHandler, matched against the URL-decoded path after the base.
_START = re.compile(r"^/orchestrators/(?P<fn>[^/]+)(?:/(?P<id>[^/]+))?/?$", re.IGNORECASE)
_RAISE = re.compile(r"^/instances/(?P<id>[^/]+)/raiseEvent/(?P<event>[^/]+)/?$", re.IGNORECASE)
_INSTANCES = re.compile(r"^/instances(?:/(?P<id>[^/]+)(?:/(?P<op>[^/]+))?)?/?$", re.IGNORECASE)
_ENTITIES = re.compile(r"^/entities(?:/(?P<name>[^/]*)(?:/(?P<key>[^/]*))?)?/?$", re.IGNORECASE)
EMPTY_ENTITY_KEY = "$"  # HttpApiHandler: on GET, this key stands for the empty key


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """Newtonsoft-style JSON: compact, UTF-8, `application/json; charset=utf-8`."""
    return web.Response(
        body=compact_json(body).encode(),
        status=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def error_response(
    status: int, message: str, exc: BaseException | None = None, exc_type: str = ""
) -> web.Response:
    """ASP.NET `CreateErrorResponse`: Message, plus ExceptionMessage/ExceptionType when there was one.
    No StackTrace: devhost never puts stack traces in HTTP bodies (they go to the log)."""
    body: dict[str, Any] = {"Message": message}
    if exc is not None:
        body["ExceptionMessage"] = str(exc)
        body["ExceptionType"] = exc_type or type(exc).__name__
    return json_response(body, status)


def _query(request: web.Request) -> dict[str, str]:
    """Query names are case-insensitive in the extension (NameValueCollection); first value wins."""
    out: dict[str, str] = {}
    for key, value in request.query.items():
        out.setdefault(key.lower(), value)
    return out


def _bool(q: Mapping[str, str], name: str, default: bool) -> bool:
    value = q.get(name.lower())
    if value is None:
        return default
    lowered = value.strip().lower()
    # .NET bool.TryParse: only true/false (any case); anything else means "not given".
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return default


def _seconds(q: Mapping[str, str], name: str) -> float | None:
    value = q.get(name.lower())
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds == seconds and seconds >= 0 else None


def _datetime(q: Mapping[str, str], name: str) -> dt.datetime | None:
    value = q.get(name.lower())
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1) if "T" not in value else value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python's strftime can omit leading zeros from years before 1000 (the extension pads them too).
    m = re.match(r"^(\d{1,3})-", text)
    if m:
        text = m.group(1).zfill(4) + text[len(m.group(1)):]
    # Up to 7 fractional digits in .NET; Python takes 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        # OverflowError: an offset that moves 0001-01-01 or 9999-12-31 out of range in UTC; like any
        # other unparseable value (DateTime.TryParse fails), the filter is then not given.
        return None


def _statuses(q: Mapping[str, str]) -> frozenset[RuntimeStatus] | None:
    value = q.get("runtimestatus")
    if value is None:
        return None
    found = set()
    for part in value.split(","):
        # Enum.TryParse is case-sensitive by default; unknown names are skipped.
        if part.strip() in RuntimeStatus.__members__:
            found.add(RuntimeStatus[part.strip()])
    return frozenset(found) if found else None


def validate_instance_id(instance_id: str) -> None:
    """The extension's rules for caller-chosen instance ids (ArgumentException → 400)."""
    if instance_id.startswith("@"):
        raise ValueError("Orchestration instance ids must not start with @.")
    if _INVALID_ID_CHARS.search(instance_id):
        raise ValueError("Orchestration instance ids must not contain /, \\, #, ?, or control characters.")
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise ValueError(f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters.")


class ManagementApi:
    """aiohttp handlers for both bases, over the one task hub this host serves."""

    def __init__(self, hub: HubClient, urls: DurableUrls, *, keys: HostKeys | None = None,
                 poll_floor: float = 0.01) -> None:
        self.hub = hub
        self.urls = urls
        self.keys = keys
        # Waiting start requests poll the store; a floor keeps a pollingInterval=0 from spinning.
        self.poll_floor = poll_floor

    @staticmethod
    def route_tail(path: str) -> tuple[str, str] | None:
        """(base, rest) when `path` is under one of the two bases. Case-insensitive like ASP.NET routing
        (the docs spell it `/runtime/webhooks/durableTask/`)."""
        lowered = path.lower()
        for base in (WEBHOOK_PATH, RPC_PATH):
            if lowered == base or lowered.startswith(base + "/"):
                return base, path[len(base):] or "/"
        return None

    # ------------------------------------------------------------------ dispatch
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve a request whose path `route_tail` accepted."""
        routed = self.route_tail(request.path)
        if routed is None:
            return web.Response(status=404)
        base, path = routed
        if self.keys is not None and base == WEBHOOK_PATH:
            # The public webhook wants the extension's system key (or the master key); the RPC base is
            # keyless like the extension's loopback listener.
            key = request.headers.get("x-functions-key") or request.query.get("code") or ""
            if not key or not self.keys.allows_system(DURABLE_SYSTEM_KEY, key):
                return web.Response(status=401)
        try:
            return await self._dispatch(request, path)
        except web.HTTPException:
            raise
        except Exception as exc:  # the API never takes the host down; the details go to the log only
            log.exception("management API %s %s failed", request.method, request.path)
            return error_response(500, "Something went wrong while processing your request", exc)

    async def _dispatch(self, request: web.Request, path: str) -> web.StreamResponse:
        method = request.method.upper()
        q = _query(request)
        hub_param = q.get("taskhub")
        if hub_param and hub_param.strip() and hub_param.lower() != self.hub.hub_name.lower():
            # One hub per devhost; the real host would open a second client for another hub name.
            return error_response(
                400, f"Task hub '{hub_param}' is not served by this host (only '{self.hub.hub_name}')."
            )

        m = _START.match(path)
        if m:
            if method != "POST":
                return web.Response(status=404)
            return await self._start(request, q, m.group("fn"), m.group("id"))
        m = _ENTITIES.match(path)
        if m:
            return await self._entity(request, q, method, m.group("name") or "", m.group("key") or "")
        m = _INSTANCES.match(path)
        if m:
            instance_id, op = m.group("id"), m.group("op")
            if instance_id is None:
                if method == "GET":
                    return await self._list(request, q)
                if method == "DELETE":
                    return await self._purge_by(q)
                return web.Response(status=404)
            if op is None:
                if method == "GET":
                    return await self._status(request, q, instance_id)
                if method == "DELETE":
                    return await self._purge(instance_id)
                return web.Response(status=404)
            if method == "POST":
                handlers: dict[str, Callable[[], Awaitable[web.StreamResponse]]] = {
                    "terminate": lambda: self._lifecycle(instance_id, "terminate", q),
                    "suspend": lambda: self._lifecycle(instance_id, "suspend", q),
                    "resume": lambda: self._lifecycle(instance_id, "resume", q),
                    "restart": lambda: self._restart(request, q, instance_id),
                    "rewind": lambda: self._rewind(instance_id),
                }
                handler = handlers.get(op.lower())
                if handler is not None:
                    return await handler()
            return web.Response(status=404)
        m = _RAISE.match(path)
        if m:
            if method != "POST":
                return web.Response(status=404)
            return await self._raise_event(request, m.group("id"), m.group("event"))
        return web.Response(status=404)

    # ------------------------------------------------------------------ entities (PROTOCOL.md §37)
    async def _entity(
        self, request: web.Request, q: Mapping[str, str], method: str, name: str, key: str
    ) -> web.StreamResponse:
        """HttpApiHandler's entities/{entityName?}/{entityKey?}: GET reads the state, POST/DELETE signal an
        operation; a refused id or an unknown entity function is a 400 with the runtime's message."""
        try:
            if method == "GET":
                if not key:
                    return await self._list_entities(request, q, name)
                exists, state = await self.hub.read_entity_state(name, "" if key == EMPTY_ENTITY_KEY else key)
                if not exists:
                    return web.Response(status=404)
                return json_response(json.loads(state) if state is not None else None)
            if method not in ("POST", "DELETE"):
                return web.Response(status=404)
            operation = "delete" if method == "DELETE" else q.get("op", "")
            body = await request.read()
            input_text: str | None = None
            if body:
                text = body.decode("utf-8", errors="replace")
                if request.content_type.lower() == "application/json":
                    try:
                        input_text = compact_json(json.loads(text))
                    except (ValueError, RecursionError) as exc:
                        return error_response(400, f"Could not parse JSON content: {exc}")
                else:
                    # Any other body is a string input: RequestMessage.SetInput serializes it as one.
                    input_text = compact_json(text)
            await self.hub.signal_entity(name, key, operation, input_text)
            return web.Response(status=202)
        except ValueError as exc:
            return error_response(400, str(exc))

    async def _list_entities(self, request: web.Request, q: Mapping[str, str], name: str) -> web.Response:
        """ListEntitiesAsync (legacy): instances with the scheduler-id prefix of ``name`` (all entities
        without one); the lastOperationTime filters apply to the created time, as the extension maps them."""
        query = InstanceQuery(
            created_from=_datetime(q, "lastOperationTimeFrom"),
            created_to=_datetime(q, "lastOperationTimeTo"),
            instance_id_prefix=f"@{name.lower()}@" if name else "@",
        )
        top = q.get("top", "")
        page_size = int(top) if top.isdigit() and int(top) > 0 else DEFAULT_PAGE_SIZE
        fetch_state = _bool(q, "fetchState", False)
        token = request.headers.get("x-ms-continuation-token") or None
        deadline = time.monotonic() + 0.1
        while True:
            try:
                records, token = await self.hub.query(query, page_size, token)
            except ValueError as exc:
                return error_response(400, str(exc))
            found = [e for e in (entities.listed_entity(r, fetch_state) for r in records) if e is not None]
            # Like the extension: pages holding no entity are skipped for up to 100 ms.
            if found or token is None or time.monotonic() > deadline:
                return json_response(found, 200, {"x-ms-continuation-token": token or ""})

    def _origin(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    def check_status_response(
        self, request: web.Request, instance_id: str, q: Mapping[str, str]
    ) -> web.Response:
        """EXT `CreateCheckStatusResponse`: 202, Location, Retry-After 10, management links (no rewind)."""
        payload = self.urls.management_payload(
            instance_id,
            origin=self._origin(request),
            return_500_on_failure=_bool(q, "returnInternalServerErrorOnFailure", False),
        )
        return json_response(
            payload, 202, {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        )

    # ------------------------------------------------------------------ start / wait
    async def _start(
        self, request: web.Request, q: Mapping[str, str], function_name: str, instance_id: str | None
    ) -> web.StreamResponse:
        body = await request.read()
        input_json: str | None = None
        if body:
            text = body.decode("utf-8", errors="replace")
            try:
                json.loads(text)
            except (ValueError, RecursionError) as exc:
                # Nesting deep enough to exhaust Python's parser is a bad request too (Newtonsoft stops at
                # MaxDepth 64 with a JsonReaderException), never a 500.
                return error_response(400, "Invalid JSON content", exc, "Newtonsoft.Json.JsonReaderException")
            # The extension stores the request body text as the ExecutionStarted input, unchanged.
            input_json = text
        try:
            if instance_id:
                validate_instance_id(instance_id)
            version = q.get("version")  # absent: the host's defaultVersion (PROTOCOL.md §36)
            # DTFx records the caller's trace as the ExecutionStarted's ParentTraceContext: the id of its
            # "create orchestration" span, a child of the caller's (PROTOCOL.md §35).
            created, began = from_headers(request.headers), spans.now_ns()
            new_id = await self.hub.start(
                function_name, instance_id or None, input_json, version, trace=to_dtfx(created)
            )
            if spans.active():  # the span names the instance's version and execution, as stored
                record = await self.hub.get_instance(new_id)
                spans.orchestration_created(created, function_name, new_id, record, began)
        except InstanceExistsError as exc:
            # Current HttpApiHandler maps OrchestrationAlreadyExistsException to 409 Conflict.
            return error_response(409, str(exc))
        except UnknownOrchestratorError as exc:
            return error_response(
                400, "One or more of the arguments submitted is incorrect", exc, "System.ArgumentException"
            )
        except ValueError as exc:
            return error_response(400, str(exc))
        log.info("started orchestration %s (%s)", new_id, function_name)
        return await self._respond_started(request, q, new_id)

    async def _respond_started(
        self, request: web.Request, q: Mapping[str, str], instance_id: str
    ) -> web.Response:
        timeout = _seconds(q, "timeout")
        interval = _seconds(q, "pollingInterval")
        if timeout is None or interval is None:
            return self.check_status_response(request, instance_id, q)
        if interval > timeout:
            exc = ValueError(f"Total timeout {timeout:g} should be bigger than retry timeout {interval:g}")
            return error_response(400, "One or more of the arguments submitted is incorrect", exc,
                                  "System.ArgumentException")
        return await self._wait(request, q, instance_id, timeout, interval)

    async def _wait(
        self, request: web.Request, q: Mapping[str, str], instance_id: str, timeout: float, interval: float
    ) -> web.Response:
        """EXT `WaitForCompletionOrCreateCheckStatusResponseAsync`."""
        deadline = time.monotonic() + timeout
        while True:
            record = await self.hub.get_instance(instance_id)
            if record is not None and record.runtime_status in TERMINAL_STATUSES:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self.check_status_response(request, instance_id, q)
            await asyncio.sleep(max(self.poll_floor, min(interval, remaining)))
        if record.runtime_status == RuntimeStatus.Completed:
            return json_response(status_payload(record)["output"], 200)
        return await self._status(request, q, instance_id)

    # ------------------------------------------------------------------ status / list
    async def _status(self, request: web.Request, q: Mapping[str, str], instance_id: str) -> web.Response:
        show_history = _bool(q, "showHistory", False)
        show_output = _bool(q, "showHistoryOutput", False)
        show_input = _bool(q, "showInput", True)
        record = await self.hub.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        history = None
        if show_history and record.runtime_status != RuntimeStatus.Pending:
            history = history_events(await self.hub.get_history(instance_id), show_output)
        body = status_payload(record, show_input=show_input, history=history)
        status = RuntimeStatus(record.runtime_status)
        if status in (RuntimeStatus.Running, RuntimeStatus.Pending, RuntimeStatus.ContinuedAsNew,
                      RuntimeStatus.Suspended):
            return json_response(body, 202, {"Location": str(request.url), "Retry-After": "5"})
        if status == RuntimeStatus.Failed and _bool(q, "returnInternalServerErrorOnFailure", False):
            return json_response(body, 500)
        return json_response(body, 200)

    async def _list(self, request: web.Request, q: Mapping[str, str]) -> web.Response:
        query = InstanceQuery(
            created_from=_datetime(q, "createdTimeFrom"),
            created_to=_datetime(q, "createdTimeTo"),
            runtime_status=_statuses(q),
            instance_id_prefix=q.get("instanceidprefix"),
        )
        page_size = DEFAULT_PAGE_SIZE
        top = q.get("top")
        if top is not None:
            try:
                page_size = int(top)
            except ValueError:
                pass
        if page_size <= 0:
            page_size = DEFAULT_PAGE_SIZE
        token = request.headers.get("x-ms-continuation-token") or None
        try:
            records, next_token = await self.hub.query(query, page_size, token)
        except ValueError as exc:
            return error_response(400, "One or more of the arguments submitted is incorrect", exc,
                                  "System.ArgumentException")
        show_input = _bool(q, "showInput", True)
        body = [status_payload(r, show_input=show_input) for r in records]
        # The extension always adds the header; after the last page the token is null, i.e. an empty value
        # (DurableTask.AzureStorage since Azure/durabletask#372).
        return json_response(body, 200, {"x-ms-continuation-token": next_token or ""})

    # ------------------------------------------------------------------ events and lifecycle
    async def _raise_event(self, request: web.Request, instance_id: str, event_name: str) -> web.Response:
        record = await self.hub.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        if record.runtime_status in TERMINAL_STATUSES:
            return web.Response(status=410)
        if request.content_type.lower() != "application/json":
            return error_response(400, "Only application/json request content is supported")
        text = (await request.read()).decode("utf-8", errors="replace")
        try:
            value = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError) as exc:
            return error_response(400, "Invalid JSON content", exc, "Newtonsoft.Json.JsonReaderException")
        # DTFx re-serializes the parsed token: the event input is compact JSON text.
        try:
            await self.hub.raise_event(instance_id, event_name, compact_json(value))
        except InstanceNotFoundError:
            return web.Response(status=404)
        except InstanceGoneError:
            return web.Response(status=410)  # finished between the status check and the send
        return web.Response(status=202)

    async def _lifecycle(self, instance_id: str, op: str, q: Mapping[str, str]) -> web.Response:
        record = await self.hub.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        if record.runtime_status in TERMINAL_STATUSES:
            return web.Response(status=410)
        reason = q.get("reason")
        try:
            if op == "terminate":
                await self.hub.terminate(instance_id, reason)
            elif op == "suspend":
                await self.hub.suspend(instance_id, reason)
            else:
                await self.hub.resume(instance_id, reason)
        except InstanceNotFoundError:
            return web.Response(status=404)
        except InstanceGoneError:
            return web.Response(status=410)
        except InvalidInstanceStateError as exc:
            # The extension lets the client's InvalidOperationException reach its catch-all (§33).
            return error_response(500, "Something went wrong while processing your request", exc,
                                  "System.InvalidOperationException")
        return web.Response(status=202)

    async def _restart(self, request: web.Request, q: Mapping[str, str], instance_id: str) -> web.Response:
        new_id = _bool(q, "restartWithNewInstanceId", True)
        try:
            restarted = await self.hub.restart(instance_id, new_id)
        except InstanceExistsError as exc:
            return error_response(409, "A non-terminal instance with this instance ID already exists.", exc,
                                  "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException")
        except (UnknownOrchestratorError, InstanceNotFoundError, ValueError) as exc:
            return error_response(400, "InstanceId does not match a valid orchestration instance.", exc,
                                  "System.ArgumentException")
        return await self._respond_started(request, q, restarted)

    async def _rewind(self, instance_id: str) -> web.Response:
        record = await self.hub.get_instance(instance_id)
        if record is None:
            return json_response(f'No orchestration with instance ID "${instance_id}" found.', 404)
        if record.runtime_status != RuntimeStatus.Failed:
            return json_response(
                f"This orchestration has status {RuntimeStatus(record.runtime_status).name}, but only "
                'orchestrations in the "Failed" state can be rewound.',
                412,
            )
        # Rewind is deprecated in the extension and not implemented by devhost's engine.
        return error_response(501, "Rewind is not supported by the underlying storage provider.")

    # ------------------------------------------------------------------ purge
    async def _purge(self, instance_id: str) -> web.Response:
        record = await self.hub.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        # An entity's instance is always Running; the extension's terminal-state check exempts entity ids
        # and the tracking store purges whatever the status (PROTOCOL.md §37).
        if record.runtime_status not in TERMINAL_STATUSES and not entities.is_entity(instance_id):
            return json_response(
                "Only orchestrations in a terminal state can be purged, but the orchestration with "
                f"instance ID {instance_id} has status {RuntimeStatus(record.runtime_status).name}",
                412,
            )
        deleted = await self.hub.purge(instance_id)
        if deleted == 0:
            return web.Response(status=404)
        return json_response({"instancesDeleted": deleted}, 200)

    async def _purge_by(self, q: Mapping[str, str]) -> web.Response:
        created_from = _datetime(q, "createdTimeFrom")
        if created_from is None:
            return json_response("Please provide value for 'createdTimeFrom' parameter.", 400)
        created_to = _datetime(q, "createdTimeTo") or dt.datetime.now(dt.UTC)
        # The hub keeps the filter's terminal statuses, and without any it purges on the created time alone,
        # running orchestrations and entities included (PROTOCOL.md §37).
        deleted = await self.hub.purge_by(
            InstanceQuery(created_from=created_from, created_to=created_to, runtime_status=_statuses(q))
        )
        if deleted == 0:
            return web.Response(status=404)
        return json_response({"instancesDeleted": deleted}, 200)
