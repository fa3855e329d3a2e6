"""`GET /api/health` (anonymous): the process answers, and the task hub's storage answers through
the durable client (a one-row instance query), within a few seconds.

Never reveals configuration, versions or errors: only ok / unavailable per check.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from clients.blueprint import endpoint
from clients.responses import json_response

logger = logging.getLogger(__name__)

STORAGE_TIMEOUT_SECONDS = 5.0
# An id prefix no instance has: the query reads the instance table without returning anything.
PROBE_PREFIX = "health-probe-"


async def storage_reachable(client: df.DurableOrchestrationClient) -> bool:
    try:
        await asyncio.wait_for(
            client.get_status_by(
                created_time_from=datetime.now(UTC) - timedelta(minutes=1), instance_id_prefix=PROBE_PREFIX
            ),
            STORAGE_TIMEOUT_SECONDS,
        )
    except Exception as exc:  # any failure of the query means the check failed; the type goes to the log
        logger.warning("health: storage unreachable (%s)", type(exc).__name__)
        return False
    return True


@endpoint("health", "GET", auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    storage = await storage_reachable(client)
    checks = {"process": "ok", "storage": "ok" if storage else "unavailable"}
    if storage:
        return json_response({"status": "ok", "checks": checks})
    return json_response({"status": "unavailable", "checks": checks}, 503, {"Retry-After": "10"})
