"""Child process for the entity crash test: the engine's worker loop over the Azure store with the entity
app, nothing else.

``python -m tests.devhost.entities.crash_worker <hub> <lock seconds>`` with the connection string in
DEVHOST_TEST_STORAGE (never on the command line). Runs until killed.
"""

import asyncio
import datetime as dt
import logging
import os
import sys

from devhost.app_index import index_app
from devhost.clock import SystemClock
from devhost.engine.worker import Engine
from devhost.store.azure import create_store
from tests.devhost.entities import entity_app


async def main(hub: str, lock_seconds: float) -> None:
    store = create_store(os.environ["DEVHOST_TEST_STORAGE"], hub_name=hub, max_polling_interval=0.5)
    await store.open()
    engine = Engine(
        index_app(entity_app.app), store, SystemClock(), lock_for=dt.timedelta(seconds=lock_seconds)
    )
    print("worker ready", flush=True)
    await engine.run(asyncio.Event(), poll_interval=0.5)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("azure").setLevel(logging.WARNING)
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
