"""The dashboard's pages and JSON API under `/_devhost/`, over one task hub's durable client.

Reads go through the client's store reads; actions through the same client operations the management API
uses (terminate, suspend, resume, restart, raise event, purge), so their rules are the extension's.
Actions are POST only, from this server's own origin (Origin and Sec-Fetch-Site are checked), with a JSON
body; a read-only dashboard refuses them. With `--auth` every API call needs the host master key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from devhost.dashboard import listing, waterfall
from devhost.history import TERMINAL_STATUSES, EventType, HistoryEvent, RuntimeStatus, compact_json, format_ts
from devhost.http.hub import (
    HubClient,
    InstanceGoneError,
    InstanceNotFoundError,
    InvalidInstanceStateError,
    UnknownOrchestratorError,
)
from devhost.http.keys import HostKeys
from devhost.http.management import json_response, validate_instance_id
from devhost.http.status import parse_to_token
from devhost.replay_gate import exported_from
from devhost.store.base import InstanceExistsError, InstanceRecord

log = logging.getLogger(__name__)

PREFIX = "/_devhost"
STATIC_DIR = Path(__file__).parent / "static"
MAX_EVENT_NAME = 128
MAX_REASON = 1000
MAX_ACTION_BODY = 1024 * 1024
_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_PAGES = {"/": "index.html", "/instance": "instance.html"}
# Nothing from elsewhere: the pages load their own script and style only and cannot be framed.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_LIFECYCLE = ("terminate", "suspend", "resume", "restart", "purge")


class ApiError(Exception):
    """An answer other than 2xx, with the one-line message shown to the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def owns(path: str) -> bool:
    """Whether a request path belongs to the dashboard (checked before the app's catch-all route)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status, {"Cache-Control": "no-store"})


class DashboardApi:
    """Serves `/_devhost/...` for one task hub. `allow_actions` False makes it read-only."""

    def __init__(self, hub: HubClient, *, keys: HostKeys | None = None, allow_actions: bool = True,
                 can_restart: bool = True) -> None:
        self.hub = hub
        self.keys = keys
        self.allow_actions = allow_actions
        self.can_restart = can_restart
        self.snapshots = listing.Snapshots(hub)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path[len(PREFIX):] or ""
        if path == "":
            raise web.HTTPFound(PREFIX + "/")
        try:
            if path.startswith("/api/") or path == "/api":
                return await self._api(request, path[len("/api"):])
            return self._page(request, path)
        except ApiError as exc:
            return _error(exc.status, exc.message)
        except web.HTTPException:
            raise
        except Exception as exc:  # storage down, a hub deleted underneath: a message, never a traceback
            log.warning("dashboard %s %s failed: %s", request.method, request.path, type(exc).__name__)
            return _error(503, f"the task hub's storage did not answer ({type(exc).__name__}); "
                               "is it running and reachable?")

    # ------------------------------------------------------------------ pages
    def _page(self, request: web.Request, path: str) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(405, "pages are read with GET; actions are POSTs to /_devhost/api/")
        if path in _PAGES:
            name = _PAGES[path]
        elif path.startswith("/static/"):
            name = path[len("/static/"):]
        else:
            raise ApiError(404, f"no dashboard page at {PREFIX}{path}")
        file = STATIC_DIR / name
        # Only plain file names in the static folder, never a path out of it.
        if "/" in name or name.startswith(".") or not file.is_file() or file.suffix not in _CONTENT_TYPES:
            raise ApiError(404, f"no dashboard file {name!r}")
        return web.Response(body=file.read_bytes(), content_type=_CONTENT_TYPES[file.suffix],
                            charset="utf-8", headers=_PAGE_HEADERS)

    # ------------------------------------------------------------------ API dispatch
    async def _api(self, request: web.Request, path: str) -> web.StreamResponse:
        if self.keys is not None:
            key = request.headers.get("x-functions-key", "")
            if not key or not self.keys.is_master(key):
                raise ApiError(401, "this dashboard needs the host's master key (sent as x-functions-key)")
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        method = request.method
        if parts == ["info"] and method == "GET":
            return json_response({"hub": self.hub.hub_name, "actions": self.allow_actions,
                                  "auth": self.keys is not None, "restart": self.can_restart})
        if parts == ["instances"] and method == "GET":
            return await self._list(request)
        if len(parts) == 2 and parts[0] == "instances" and method == "GET":
            return await self._instance(parts[1])
        if len(parts) == 3 and parts[0] == "instances" and parts[2] == "history" and method == "GET":
            return await self._exported(parts[1])
        if method == "POST":
            # An action changes what the list shows: its next answer scans again.
            self.snapshots.clear()
            if len(parts) == 3 and parts[0] == "instances" and parts[2] in _LIFECYCLE:
                body = await self._action_body(request)
                return await self._lifecycle(parts[1], parts[2], body)
            if len(parts) == 4 and parts[0] == "instances" and parts[2] == "events":
                body = await self._action_body(request, any_json=True)
                return await self._raise(parts[1], parts[3], body)
            if len(parts) == 2 and parts[0] == "bulk" and parts[1] in ("terminate", "purge"):
                body = await self._action_body(request)
                return await self._bulk(request, parts[1], body)
        if method not in ("GET", "POST") or (parts[:1] == ["bulk"] or len(parts) >= 3):
            raise ApiError(405, f"{method} does nothing here: reads are GETs, and actions are POSTs to "
                                "instances/<id>/<terminate|suspend|resume|restart|purge>, "
                                "instances/<id>/events/<name> or bulk/<terminate|purge>")
        raise ApiError(404, f"no dashboard API at {PREFIX}/api{path}")

    async def _action_body(self, request: web.Request, *, any_json: bool = False) -> Any:
        """The checks every action passes: actions on, same origin, JSON body. Returns the parsed body."""
        if not self.allow_actions:
            raise ApiError(403, "this dashboard is read-only; start it with --allow-actions to act")
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{request.host}"
        if origin is None:
            raise ApiError(403, "actions need an Origin header naming this dashboard")
        if origin != own:
            raise ApiError(403, f"actions are taken only from this dashboard's own origin ({own}), "
                                f"not {origin[:100]!r}")
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            raise ApiError(403, "actions are taken only from this dashboard's own pages "
                                f"(Sec-Fetch-Site {site})")
        if request.content_type != "application/json":
            raise ApiError(415, "actions take a JSON body (Content-Type: application/json)")
        if request.content_length is not None and request.content_length > MAX_ACTION_BODY:
            raise ApiError(413, f"the body is larger than {MAX_ACTION_BODY} bytes")
        raw = await request.read()
        if len(raw) > MAX_ACTION_BODY:
            raise ApiError(413, f"the body is larger than {MAX_ACTION_BODY} bytes")
        text = raw.decode("utf-8", errors="replace")
        if not text.strip():
            return None if any_json else {}
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, f"the body is not JSON: {str(exc)[:200]}") from None
        if not any_json and not isinstance(value, dict):
            raise ApiError(400, "the body must be a JSON object, e.g. {\"reason\": \"...\"}")
        return value

    # ------------------------------------------------------------------ reads
    async def _list(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        try:
            flt = listing.parse_filter(params)
            page = listing.parse_int(params, "page", 1, 1, 1_000_000)
            size = listing.parse_int(params, "pageSize", listing.DEFAULT_PAGE_SIZE, 1, listing.MAX_PAGE_SIZE)
        except listing.FilterError as exc:
            raise ApiError(400, str(exc)) from None
        records, as_of = await self.snapshots.records(flt)
        body = listing.page_body(records, flt, page, size, as_of)
        return json_response(body, headers={"Cache-Control": "no-store"})

    async def _record(self, instance_id: str) -> InstanceRecord:
        _check_id(instance_id)
        record = await self.hub.get_instance(instance_id)
        if record is None:
            raise ApiError(404, f"no instance {instance_id!r} in task hub '{self.hub.hub_name}' "
                                "(never started, or purged)")
        return record

    async def _exported(self, instance_id: str) -> web.Response:
        """The instance's history as `devhost history export` writes it (the replay gate's file)."""
        record = await self._record(instance_id)
        history = await self.hub.get_history(instance_id)
        exported = exported_from(record.instance_id, record.name, record.version, history)
        return web.Response(text=exported.to_json(), content_type="application/json",
                            headers={"Cache-Control": "no-store"})

    async def _instance(self, instance_id: str) -> web.Response:
        record = await self._record(instance_id)
        history = await self.hub.get_history(instance_id)
        body = {
            "instance": {
                **listing.summary(record),
                "executionId": record.execution_id,
                "version": record.version,
                # Stored JSON text as it is: the page indents it and shows it as text, never as HTML.
                "input": record.input,
                "output": record.output,
                "customStatus": record.custom_status,
                "scheduledStartTime": format_ts(record.scheduled_start_time) if record.scheduled_start_time
                else None,
            },
            "failure": _failure(record, history),
            "children": _children(history),
            "history": [_history_row(i, e) for i, e in enumerate(history)],
            "waterfall": [s.to_json() for s in waterfall.build(history)],
        }
        return json_response(body, headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ actions
    async def _lifecycle(self, instance_id: str, op: str, body: dict[str, Any]) -> web.Response:
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
            raise ApiError(400, f"'reason' must be a string of at most {MAX_REASON} characters")
        record = await self._record(instance_id)
        status = RuntimeStatus(record.runtime_status)
        actions: dict[str, Callable[[], Awaitable[Any]]] = {
            "terminate": lambda: self.hub.terminate(instance_id, reason),
            "suspend": lambda: self.hub.suspend(instance_id, reason),
            "resume": lambda: self.hub.resume(instance_id, reason),
        }
        try:
            if op == "purge":
                if status not in TERMINAL_STATUSES:
                    raise ApiError(409, f"only finished instances can be purged; {instance_id!r} is "
                                        f"{status.name} (terminate it first)")
                deleted = await self.hub.purge(instance_id)
                return json_response({"purged": deleted}, 200)
            if op == "restart":
                new_id = body.get("newInstanceId", True)
                if not isinstance(new_id, bool):
                    raise ApiError(400, "'newInstanceId' must be true or false")
                if not self.can_restart:
                    raise ApiError(409, "restart needs the app's orchestrators: open this dashboard from "
                                        "`python -m devhost start`")
                started = await self.hub.restart(instance_id, new_id)
                return json_response({"instanceId": started}, 202)
            await actions[op]()
        except InstanceNotFoundError:
            raise ApiError(404, f"no instance {instance_id!r} (purged meanwhile?)") from None
        except InstanceGoneError:
            raise ApiError(409, f"{instance_id!r} is {status.name}: it can no longer be {op}d") from None
        except InstanceExistsError as exc:
            raise ApiError(409, str(exc)) from None
        except UnknownOrchestratorError as exc:
            raise ApiError(409, str(exc).splitlines()[0]) from None
        except InvalidInstanceStateError as exc:  # suspend a suspended one, resume a running one
            raise ApiError(409, str(exc)) from None
        return json_response({"accepted": op}, 202)

    async def _raise(self, instance_id: str, event_name: str, value: Any) -> web.Response:
        _check_event_name(event_name)
        record = await self._record(instance_id)
        if record.runtime_status in TERMINAL_STATUSES:
            raise ApiError(409, f"{instance_id!r} is {RuntimeStatus(record.runtime_status).name}: "
                                "it takes no more events")
        try:
            await self.hub.raise_event(instance_id, event_name, compact_json(value))
        except InstanceNotFoundError:
            raise ApiError(404, f"no instance {instance_id!r} (purged meanwhile?)") from None
        except InstanceGoneError:
            raise ApiError(409, f"{instance_id!r} has finished: it takes no more events") from None
        return json_response({"accepted": "event", "name": event_name}, 202)

    async def _bulk(self, request: web.Request, op: str, body: dict[str, Any]) -> web.Response:
        """Terminate the running, or purge the finished, instances the list's filter selects (query)."""
        try:
            flt = listing.parse_filter(dict(request.query))
        except listing.FilterError as exc:
            raise ApiError(400, str(exc)) from None
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
            raise ApiError(400, f"'reason' must be a string of at most {MAX_REASON} characters")
        chosen = listing.selected(await listing.scan(self.hub, flt), flt)
        done = 0
        for record in chosen:
            finished = record.runtime_status in TERMINAL_STATUSES
            try:
                if op == "purge" and finished:
                    done += await self.hub.purge(record.instance_id)
                elif op == "terminate" and not finished:
                    await self.hub.terminate(record.instance_id, reason or "terminated from the dashboard")
                    done += 1
            except (InstanceNotFoundError, InstanceGoneError):
                continue  # finished or purged meanwhile: not ours to count
        key = "purged" if op == "purge" else "terminated"
        return json_response({key: done}, 200)


def _check_id(instance_id: str) -> None:
    if not instance_id:
        raise ApiError(400, "the instance id is empty")
    try:
        validate_instance_id(instance_id)
    except ValueError as exc:
        raise ApiError(400, f"bad instance id: {exc}") from None


def _check_event_name(name: str) -> None:
    if not name.strip():
        raise ApiError(400, "the event name is empty")
    if len(name) > MAX_EVENT_NAME:
        raise ApiError(400, f"the event name is longer than {MAX_EVENT_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or "/" in name:
        raise ApiError(400, "the event name must not contain '/' or control characters")


def _children(history: list[HistoryEvent]) -> list[dict[str, Any]]:
    return [{"instanceId": e.get("InstanceId"), "name": e.get("Name")} for e in history
            if e.get("EventType") == EventType.SubOrchestrationInstanceCreated and e.get("InstanceId")]


def _failure(record: InstanceRecord, history: list[HistoryEvent]) -> str | None:
    """The failure details of a Failed instance (DTFx keeps them in the output and the last event)."""
    if record.runtime_status != RuntimeStatus.Failed:
        return None
    for event in reversed(history):
        if event.get("EventType") == EventType.ExecutionCompleted:
            details = event.get("FailureDetails")
            if details:
                return details if isinstance(details, str) else compact_json(details)
            break
    return record.output


_PAYLOAD_KEYS = ("Input", "Result", "Reason", "Details", "FailureDetails", "FireAt")


def _history_row(index: int, event: HistoryEvent) -> dict[str, Any]:
    try:
        etype = EventType(int(event.get("EventType", -1))).name
    except (TypeError, ValueError):
        etype = str(event.get("EventType"))
    # Payloads are JSON text inside the event: parsed here so the page shows them once, not re-quoted.
    payload = {k: parse_to_token(event[k]) if isinstance(event[k], str) else event[k]
               for k in _PAYLOAD_KEYS if event.get(k) not in (None, "")}
    return {
        "index": index,
        "eventType": etype,
        "timestamp": event.get("Timestamp"),
        "eventId": event.get("EventId"),
        "scheduledId": event.get("TaskScheduledId", event.get("TimerId")),
        "name": event.get("Name") or event.get("InstanceId"),
        "payload": compact_json(payload) if payload else None,
    }
