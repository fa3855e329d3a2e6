"""A worker to kill: the engine's worker loop over the Azure store for one app, nothing else, in a child
process, and the context manager the crash tests start it with.

``python -m tests.devhost.azure.crash_worker <hub> <lock seconds> <app module>`` with the connection
string in DEVHOST_TEST_STORAGE (never on the command line). Runs until killed.
"""

import asyncio
import datetime as dt
import importlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devhost.app_index import index_app
from devhost.clock import SystemClock
from devhost.engine.worker import Engine
from devhost.store.azure import create_store
from tests.support.azurite import Azurite

REPO = Path(__file__).resolve().parents[3]


@contextmanager
def crash_worker(
    azurite: Azurite, hub: str, app_module: str, lock_seconds: float, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """The worker for `app_module` (a module holding `app`) running on `hub`, killed at the end if alive;
    `env`: app settings the child sees (e.g. how slow its activities are)."""
    child_env = dict(os.environ, DEVHOST_TEST_STORAGE=azurite.connection_string, **env)
    command = [sys.executable, "-m", "tests.devhost.azure.crash_worker", hub, str(lock_seconds), app_module]
    proc = subprocess.Popen(command, cwd=REPO, env=child_env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"worker ready"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


async def main(hub: str, lock_seconds: float, app_module: str) -> None:
    store = create_store(os.environ["DEVHOST_TEST_STORAGE"], hub_name=hub, max_polling_interval=0.5)
    await store.open()
    app = importlib.import_module(app_module).app
    engine = Engine(index_app(app), store, SystemClock(), lock_for=dt.timedelta(seconds=lock_seconds))
    print("worker ready", flush=True)
    await engine.run(asyncio.Event(), poll_interval=0.5)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("azure").setLevel(logging.WARNING)
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
