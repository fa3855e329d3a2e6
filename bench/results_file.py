"""What every benchmark does last: write its result as JSON under bench/results/ and show it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def stamp() -> dict[str, Any]:
    """When and where a result was measured (the machine is shared: its 1-minute load at the end)."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
    }


def write_results(result: dict[str, Any], out: str | Path) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def run_on_azurite(run: Callable[[str], Awaitable[dict[str, Any]]], timeout: float) -> dict[str, Any]:
    """`run(connection string)` against a private Azurite, stopped afterwards; bounded by `timeout`."""
    from tests.support.azurite import azurite_process

    with azurite_process() as azurite:
        return asyncio.run(asyncio.wait_for(run(azurite.connection_string), timeout))
