"""Index a Python v2-model function app as the Python worker and the Durable extension do (PROTOCOL.md
§1.1-1.3).

``index_app(app_or_module)`` calls ``get_functions()`` exactly once per app object (a second call
raises in the SDK), resolves durable names (binding ``activity``/``orchestration`` override, else the
function name; lookups are case-insensitive like the extension's) and exposes orchestrator handles,
activity callables and HTTP-trigger functions with their binding dicts for the HTTP front.
"""

from __future__ import annotations

import inspect
import json
import threading
import types
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func


class AppIndexError(ValueError):
    """The app cannot be loaded the way the worker would load it."""


@dataclass(frozen=True)
class OrchestratorFunction:
    name: str  # durable name (what call_sub_orchestrator/start_new use)
    function_name: str
    handle: Callable[[Any], str]  # Orchestrator.create(fn).handle: handle(func.OrchestrationContext) -> str
    bindings: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ActivityFunction:
    name: str  # durable name (what call_activity uses)
    function_name: str
    fn: Callable[..., Any]
    input_name: str  # keyword argument that receives the input
    is_async: bool
    wants_context: bool  # declares a non-binding ``context`` parameter (gets an azure.functions.Context)
    bindings: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class EntityFunction:
    name: str  # durable name as registered (the entityTrigger's entityName, else the function name)
    function_name: str
    handle: Callable[..., Any]  # the SDK's Entity.create handle: takes the EntityContext, returns JSON text
    trigger_name: str  # keyword argument the worker binds the EntityContext to
    bindings: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class HttpFunction:
    function_name: str
    fn: Callable[..., Any]
    is_async: bool
    bindings: tuple[dict[str, Any], ...]  # exact get_raw_bindings() dicts (enum values rendered by name)
    trigger_name: str  # keyword argument for the HttpRequest
    route: str
    methods: tuple[str, ...] | None  # upper-case; None = all methods
    auth_level: str  # ANONYMOUS | FUNCTION | ADMIN
    client_binding: dict[str, Any] | None  # the durableClient binding dict, if any
    wants_context: bool

    @property
    def client_name(self) -> str | None:
        return None if self.client_binding is None else str(self.client_binding["name"])


@dataclass
class AppIndex:
    app_ref: Callable[[], Any]  # weak reference to the indexed app (the index must not keep it alive)
    orchestrators: dict[str, OrchestratorFunction] = field(default_factory=dict)  # key: durable name, lower
    activities: dict[str, ActivityFunction] = field(default_factory=dict)  # key: durable name, lower
    http_functions: list[HttpFunction] = field(default_factory=list)
    entities: dict[str, EntityFunction] = field(default_factory=dict)  # key: durable name, lower
    other_functions: list[Any] = field(default_factory=list)  # timers, blobs, ... (not run by devhost)
    function_names: list[str] = field(default_factory=list)  # every function, in the app's order
    # Function names (lower case) the app settings disable (AzureWebJobs.<name>.Disabled, PROTOCOL.md §38).
    # Set by the loader from the host's settings; the index itself stays a pure view of the app.
    disabled: frozenset[str] = frozenset()

    @property
    def app(self) -> Any:
        return self.app_ref()

    def orchestrator(self, name: str) -> OrchestratorFunction | None:
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> ActivityFunction | None:
        return self.activities.get(name.lower())

    def entity(self, name: str) -> EntityFunction | None:
        return self.entities.get(name.lower())

    def is_disabled(self, function_name: str) -> bool:
        """The host's function name, not the durable name: the setting names the function."""
        return function_name.lower() in self.disabled


# Weak keys: an app object is indexed once for as long as it lives (tests build one app per test).
_CACHE: weakref.WeakKeyDictionary[Any, AppIndex] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def find_app(module: types.ModuleType) -> Any:
    """The single top-level ``FunctionRegister`` of ``module`` (worker rule: exactly one)."""
    found = [
        v
        for v in (getattr(module, n, None) for n in module.__dir__())
        if isinstance(v, func.FunctionRegister)
    ]
    unique = list({id(a): a for a in found}.values())
    if not unique:
        raise AppIndexError(
            "Could not find top level function app instances in "
            f"{getattr(module, '__file__', module.__name__)}."
        )
    if len(unique) > 1:
        raise AppIndexError(
            "More than one FunctionApp or other top level function app instances are defined."
        )
    return unique[0]


def index_app(target: Any) -> AppIndex:
    """Index a ``FunctionRegister`` (DFApp/FunctionApp) or a module holding exactly one.

    Cached per app object, because the SDK's ``get_functions()`` may only be called once."""
    app = find_app(target) if isinstance(target, types.ModuleType) else target
    if not isinstance(app, func.FunctionRegister):
        raise AppIndexError(f"not a function app (FunctionRegister) or module: {type(target).__name__}")
    with _CACHE_LOCK:
        hit = _CACHE.get(app)
        if hit is not None:
            return hit
        index = _build(app)
        _CACHE[app] = index
        return index


def _params(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _build(app: Any) -> AppIndex:
    index = AppIndex(app_ref=weakref.ref(app))
    for f in app.get_functions():
        bindings = tuple(json.loads(b) for b in f.get_raw_bindings())
        fname = f.get_function_name()
        index.function_names.append(fname)
        trigger = next((b for b in bindings if b["type"].lower().endswith("trigger")), None)
        ttype = trigger["type"] if trigger else ""
        fn = f.get_user_function()
        names = {b["name"] for b in bindings}
        if ttype == "orchestrationTrigger":
            assert trigger is not None
            if trigger["name"] != "context":
                raise AppIndexError(
                    f"Function {fname}: the orchestration trigger must be named 'context' "
                    f"(the worker binds the SDK handle's only parameter, 'context'); got {trigger['name']!r} "
                    "(microsoft/durabletask-python#171)"
                )
            name = trigger.get("orchestration") or fname
            if name.startswith("@"):
                raise AppIndexError(f"Orchestrator name {name!r} must not start with '@'")
            _add(index.orchestrators, name, OrchestratorFunction(name, fname, fn, bindings), "orchestrator")
        elif ttype == "activityTrigger":
            assert trigger is not None
            name = trigger.get("activity") or fname
            params = _params(fn)
            _add(
                index.activities,
                name,
                ActivityFunction(
                    name,
                    fname,
                    fn,
                    trigger["name"],
                    inspect.iscoroutinefunction(fn),
                    "context" in params and "context" not in names,
                    bindings,
                ),
                "activity",
            )
        elif ttype == "entityTrigger":
            assert trigger is not None
            name = trigger.get("entityName") or fname
            _add(index.entities, name, EntityFunction(name, fname, fn, trigger["name"], bindings), "entity")
        elif ttype == "httpTrigger":
            assert trigger is not None
            client = next((b for b in bindings if b["type"] == "durableClient"), None)
            methods = trigger.get("methods")
            params = _params(getattr(fn, "__wrapped__", fn)) | _params(fn)
            index.http_functions.append(
                HttpFunction(
                    function_name=fname,
                    fn=fn,
                    is_async=inspect.iscoroutinefunction(fn),
                    bindings=bindings,
                    trigger_name=trigger["name"],
                    route=trigger.get("route") or fname,
                    methods=tuple(m.upper() for m in methods) if methods else None,
                    auth_level=str(trigger.get("authLevel", "FUNCTION")).upper(),
                    client_binding=client,
                    wants_context="context" in params and "context" not in names,
                )
            )
        else:
            index.other_functions.append(f)
    return index


def _add(table: dict[str, Any], name: str, entry: Any, kind: str) -> None:
    key = name.lower()
    if key in table:
        raise AppIndexError(f"Duplicate {kind} name {name!r} (durable names are case-insensitive)")
    table[key] = entry
