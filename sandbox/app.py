"""The aiohttp application: routes of every API, the error, request-log and fault middlewares, the worker.

`serve()` runs it on 127.0.0.1 until SIGTERM/SIGINT and announces its URL on one stdout line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from sandbox import catalog, openapi
from sandbox.api import conference, control, expense, hotel, payment, travel
from sandbox.api.common import SERVICES, Handler, Route, Services, json_response
from sandbox.faults import APIS, Faults
from sandbox.problems import ProblemError
from sandbox.provider import PaymentProvider
from sandbox.settings import Settings
from sandbox.store import RequestRow, Store
from sandbox.wire import now_iso

log = logging.getLogger("sandbox")
MAX_BODY = 1024 * 1024
# What a request log keeps of a header: enough for any valid value, bounded for hostile ones.
MAX_LOGGED_HEADER = 1024


def all_routes() -> list[Route]:
    return [
        *conference.ROUTES,
        *travel.routes("flight"),
        *travel.routes("train"),
        *hotel.ROUTES,
        *payment.ROUTES,
        *expense.ROUTES,
        *control.ROUTES,
    ]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as a problem document; nothing escapes as a bare 500 or a crash."""
    try:
        return await handler(request)
    except ProblemError as exc:
        return exc.response()
    except web.HTTPRequestEntityTooLarge:
        return ProblemError(413, "payload_too_large", f"body is larger than {MAX_BODY} bytes").response()
    except web.HTTPNotFound:
        return ProblemError(404, "not_found", f"no route {request.path}").response()
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        return ProblemError(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {allowed}",
            headers={"Allow": allowed},
        ).response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return ProblemError(
            exc.status, "malformed_request" if exc.status < 500 else "internal_error", exc.reason
        ).response()
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return ProblemError(500, "internal_error", "the sandbox failed on this request").response()


def _api_of(request: web.BaseRequest) -> str:
    return request.path.split("/", 2)[1] if request.path.count("/") >= 1 else ""


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log every request to a supplier API before faults or handling, with the W3C traceparent it carried
    (several headers joined as one, as HTTP combines them), so a test can prove whose trace it was in."""
    api = _api_of(request)
    if api in APIS:
        traceparents = request.headers.getall("traceparent", [])
        key = request.headers.get("Idempotency-Key")
        request.app[SERVICES].store.record_request(
            RequestRow(
                api=api,
                method=request.method,
                path=request.path[:MAX_LOGGED_HEADER],
                idempotency_key=None if key is None else key[:MAX_LOGGED_HEADER],
                traceparent=", ".join(traceparents)[:MAX_LOGGED_HEADER] if traceparents else None,
                received_at=now_iso(),
            )
        )
    return await handler(request)


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    api = _api_of(request)
    if api not in APIS:
        return await handler(request)
    decision = request.app[SERVICES].faults.decide(api)
    if decision.before:
        await asyncio.sleep(decision.before)
    try:
        if decision.problem is not None:
            raise decision.problem
        response = await handler(request)
    except ProblemError:
        # A problem answer is held back too: the caller cannot tell it from a slow network.
        if decision.after:
            await asyncio.sleep(decision.after)
        raise
    if decision.after:
        # The handler has committed (every write is one transaction): a caller that gives up while
        # this sleeps leaves its booking made — the "outcome unknown" case of a real network.
        await asyncio.sleep(decision.after)
    return response


class AccessLogger(AbstractAccessLogger):
    """Method, path and status only: query strings can carry a traveller's email."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def build_app(store: Store, settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY, middlewares=[problem_middleware, request_log_middleware, fault_middleware]
    )
    routes = all_routes()
    for r in routes:
        app.router.add_route(r.method, r.path, r.handler)
    document = openapi.build(routes)

    async def serve_openapi(request: web.Request) -> web.StreamResponse:
        return json_response(document)

    async def index(request: web.Request) -> web.StreamResponse:
        return json_response(
            {
                "service": "supplier sandbox",
                "openapi": "/openapi.json",
                "apis": {api: f"/{api}" for api in APIS},
                "conferences": sorted(catalog.CONFERENCES),
            }
        )

    app.router.add_get("/openapi.json", serve_openapi)
    app.router.add_get("/", index)

    async def lifecycle(app: web.Application) -> Any:
        # trust_env=False: a proxy from the environment must not swallow webhooks meant for 127.0.0.1.
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
            provider = PaymentProvider(store, settings, http)
            app[SERVICES] = Services(store=store, settings=settings, faults=Faults(store), provider=provider)
            provider.start()
            yield
            await provider.stop()

    app.cleanup_ctx.append(lifecycle)
    return app


async def serve(
    db_path: Path,
    port: int,
    settings: Settings,
    announce: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    store = Store(db_path)
    runner = web.AppRunner(build_app(store, settings), access_log_class=AccessLogger, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        bound = runner.addresses[0][1]
        announce(f"sandbox listening on http://127.0.0.1:{bound}")
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        with contextlib.suppress(Exception):
            store.close()
    sys.stdout.flush()
