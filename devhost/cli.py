"""`devhost start`: load the app, read host.json and local settings, open the task hub, serve.

`python -m devhost start` is the same command. Prints each HTTP function with its methods and URL like
`func start`; stops cleanly on Ctrl-C / SIGTERM; exits non-zero with one clear line when the app does not
import or the storage cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from devhost import replay_cli
from devhost.config import (
    ConfigError,
    HostConfig,
    apply_local_settings,
    load_host_config,
    load_local_settings,
)
from devhost.loader import AppLoadError, load_app
from devhost.store.base import StoreError, TaskHubStore

log = logging.getLogger("devhost")

EXIT_USAGE = 2
EXIT_APP = 3
EXIT_STORAGE = 4


class StorageUnavailable(Exception):
    """The task hub's storage could not be opened; the message is one console line without secrets."""


def build_parser(prog: str = "devhost") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="serve function_app.py like `func start`")
    start.add_argument("--app-root", default=".", help="folder holding function_app.py and host.json")
    start.add_argument("--port", type=int, default=None,
                       help="HTTP port (default: local.settings.json Host.LocalHttpPort, else 7071; "
                            "0 = a free port)")
    start.add_argument("--storage", default=None,
                       help="'memory', or an Azure Storage connection string "
                            "(default: the app setting named by host.json connectionName, "
                            "i.e. AzureWebJobsStorage)")
    start.add_argument("--auth", action="store_true",
                       help="enforce function/admin keys (kept in <app root>/.devhost/keys.json)")
    start.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    replay_cli.add_commands(sub)
    from devhost.dashboard import standalone

    standalone.add_arguments(sub.add_parser("dashboard", help="serve the dashboard over a task hub, no app"))
    return parser


def open_store(spec: str, config: HostConfig) -> TaskHubStore:
    """`memory` → the in-memory store; anything else is a connection string for the Azure Storage store."""
    if spec.strip().lower() == "memory":
        from devhost.store.memory import MemoryStore

        return MemoryStore()
    try:
        from devhost.store import azure as azure_store
    except ImportError as exc:  # pragma: no cover - only before the Azure store exists
        raise StorageUnavailable(f"the Azure Storage task hub is not available ({exc})") from exc
    factory = getattr(azure_store, "create_store", None)
    if factory is None:
        raise StorageUnavailable("devhost.store.azure has no create_store(); cannot open Azure Storage")
    lease = config.control_queue_visibility_timeout
    store: TaskHubStore = factory(
        spec, hub_name=config.hub_name, partition_count=config.partition_count,
        max_polling_interval=config.max_queue_polling_interval,
        buffer_threshold=config.control_queue_buffer_threshold,
        **({} if lease is None else {"lease_seconds": int(lease)}),
    )
    return store


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        # `make run` sets LOG_LINE_FORMAT so that its three processes share one line format.
        format=os.environ.get("LOG_LINE_FORMAT", "[%(asctime)s] %(levelname)s %(name)s: %(message)s"),
        stream=sys.stderr,
    )
    if not verbose:
        # aiohttp's access log and Azure SDK request logging would drown the function output (and the
        # latter prints request headers).
        for noisy in ("aiohttp.access", "azure", "azure.core.pipeline.policies.http_logging_policy"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(code: int, message: str) -> int:
    print(f"devhost: {message}", file=sys.stderr, flush=True)
    return code


async def _serve(args: argparse.Namespace) -> int:
    app_root = Path(args.app_root).resolve()
    if not app_root.is_dir():
        return _fail(EXIT_USAGE, f"app root {app_root} is not a folder")
    try:
        settings = load_local_settings(app_root)
        applied = apply_local_settings(settings, os.environ)
        config = load_host_config(app_root, os.environ)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, str(exc))
    if applied:
        log.info("applied %d app settings from local.settings.json", len(applied))

    port = args.port
    if port is None:
        host_section = settings.get("Host") or {}
        port = int(host_section.get("LocalHttpPort", 7071)) if isinstance(host_section, dict) else 7071
    if config.foreign_storage_provider:
        if not args.storage:
            return _fail(EXIT_USAGE, foreign_provider_message(config.storage_provider))
        log.warning("host.json's storage provider %s is not used: devhost runs this app on --storage",
                    config.storage_provider)
    storage = args.storage or os.environ.get(config.connection_name)
    if not storage:
        return _fail(EXIT_USAGE, f"no storage: pass --storage or set app setting {config.connection_name}")

    # The worker runs with the app root as working directory; apps may read files relative to it.
    os.chdir(app_root)
    # Imported only now: importing the durable SDK reads ./host.json (its extension-bundle check), so it
    # must see the app's host.json, and only after devhost has refused one that is not valid JSON.
    from devhost.http.host import DevHost
    from devhost.http.keys import load_or_create_keys

    try:
        _, index = load_app(app_root, os.environ)
    except AppLoadError as exc:
        return _fail(EXIT_APP, str(exc))

    try:
        store = open_store(storage, config)
    except StorageUnavailable as exc:
        return _fail(EXIT_STORAGE, str(exc))
    except Exception as exc:  # e.g. a malformed connection string
        return _fail(EXIT_STORAGE, f"storage cannot be used: {_one_line(exc)}")
    keys = load_or_create_keys(app_root) if args.auth else None
    website = os.environ.get("WEBSITE_HOSTNAME")
    host = DevHost(index=index, config=config, store=store, app_root=app_root, port=port, keys=keys,
                   public_origin=f"http://{website}" if website else None)
    try:
        await host.start()
    except OSError as exc:
        with contextlib.suppress(Exception):
            await host.stop()
        return port_taken(exc, port) or _fail(EXIT_STORAGE, f"storage cannot be reached: {_one_line(exc)}")
    except StoreError as exc:  # the store's own one-line diagnosis
        with contextlib.suppress(Exception):
            await host.stop()
        return _fail(EXIT_STORAGE, _SECRET.sub(r"\1=***", str(exc).strip().splitlines()[0])[:300])
    except Exception as exc:
        with contextlib.suppress(Exception):
            await host.stop()
        return _fail(EXIT_STORAGE, f"storage cannot be reached: {_one_line(exc)}")

    _print_banner(host, storage)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping (Ctrl-C again to force)")
    for sig in (signal.SIGINT, signal.SIGTERM):
        # A second signal means "now": skip waiting for in-flight activities.
        loop.add_signal_handler(sig, os._exit, 130)
    await host.stop()
    return 0


_SECRET = re.compile(r"(AccountKey|SharedAccessSignature|sig)=[^;&\s]+", re.IGNORECASE)


def _one_line(exc: BaseException) -> str:
    """First line of the error, with anything that looks like a storage secret blanked out."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return _SECRET.sub(r"\1=***", f"{type(exc).__name__}: {first}")[:300]


def port_taken(exc: OSError, port: int | None) -> int | None:
    """The one-line exit when another process holds the port; None for any other OSError."""
    if getattr(exc, "errno", None) in (98, 48):  # EADDRINUSE on Linux / macOS
        return _fail(EXIT_USAGE, f"port {port} is already in use")
    return None


def foreign_provider_message(provider: str) -> str:
    return (
        f"host.json asks for the {provider} storage provider (extensions.durableTask.storageProvider.type), "
        "which devhost does not implement: it runs task hubs on Azure Storage or in memory only. "
        "Start it with --storage memory or --storage <Azure Storage connection string>"
    )


def _print_banner(host: object, storage: str) -> None:
    from devhost.http.host import DevHost

    assert isinstance(host, DevHost) and host.web is not None
    where = "in-memory task hub" if storage.strip().lower() == "memory" else "Azure Storage task hub"
    lines = [f"devhost: {where} '{host.config.hub_name}'", "", "Functions:", ""]
    for name, methods, url in host.web.front.listing(host.base_url):
        lines.append(f"        {name}: [{methods}] {url}")
    for orch in sorted(host.index.orchestrators.values(), key=lambda o: o.name.lower()):
        lines.append(f"        {orch.function_name}: orchestrationTrigger")
    for act in sorted(host.index.activities.values(), key=lambda a: a.name.lower()):
        lines.append(f"        {act.function_name}: activityTrigger")
    for other in host.index.other_functions:
        trigger = getattr(other.get_trigger(), "type", "unknown")
        lines.append(f"        {other.get_function_name()}: {trigger} (not run by devhost)")
    lines += ["", f"Durable management API: {host.base_url}/runtime/webhooks/durabletask",
              f"Dashboard: {host.base_url}/_devhost/",
              f"Host started: {host.base_url}"]
    print("\n".join(lines), flush=True)


def main(argv: Sequence[str] | None = None, prog: str = "devhost") -> int:
    """The `devhost` console script (devhost/pyproject.toml); `python -m devhost` passes its own `prog`."""
    args = build_parser(prog).parse_args(argv)
    _configure_logging(args.verbose)
    if args.command == "start":
        try:
            return asyncio.run(_serve(args))
        except KeyboardInterrupt:
            return 0
    if args.command == "replay":
        return replay_cli.run_replay(args)
    if args.command == "history":
        return replay_cli.run_export(args)
    if args.command == "dashboard":
        from devhost.dashboard import standalone

        try:
            return asyncio.run(standalone.main(args))
        except KeyboardInterrupt:
            return 0
    return EXIT_USAGE
