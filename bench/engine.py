"""Engine benchmark: devhost's engine on the in-memory store beside durabletask 1.12.0's in-memory backend.

Same work on both: Hello5 (five sequential activities) with 1 and 1,000 concurrent instances, a 1,000-way
fan-out/fan-in, replay cost per history event, and devhost's own overhead per episode (excluding the SDK's
replay). Writes bench/results/engine.json. Run: `.venv/bin/python bench/engine.py` (needs
bench/requirements.txt for the durabletask peer; without it the peer is recorded as unavailable).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import azure.durable_functions as df  # noqa: E402

from devhost import history as h  # noqa: E402
from devhost.app_index import index_app  # noqa: E402
from devhost.clock import SystemClock  # noqa: E402
from devhost.engine.client import DurableClient  # noqa: E402
from devhost.engine.episode import invoke_orchestrator  # noqa: E402
from devhost.engine.replay import Replayer  # noqa: E402
from devhost.engine.worker import Engine  # noqa: E402
from devhost.history import TERMINAL_STATUSES  # noqa: E402
from devhost.store.base import EpisodeCommit, OrchestrationWorkItem  # noqa: E402
from devhost.store.memory import MemoryStore  # noqa: E402
from devhost.testing import AsyncDurableHarness  # noqa: E402

CITIES = ["Tokyo", "Seattle", "London", "Paris", "Lima"]
# durabletask's default activity concurrency (100 x CPUs); devhost gets the same limit
ACTIVITY_CONCURRENCY = 100 * (os.cpu_count() or 1)
RESULTS = REPO / "bench" / "results" / "engine.json"
log = logging.getLogger("bench.engine")

# ---------------------------------------------------------------------------------------------- devhost app
app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def hello5(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    out = []
    for c in CITIES:
        out.append((yield context.call_activity("say_hello", c)))
    return out


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    n = context.get_input()
    res = yield context.task_all([context.call_activity("say_hello", str(i)) for i in range(n)])
    return len(res)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    for i in range(context.get_input()):
        yield context.call_activity("say_hello", str(i))
    return "done"


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


class CountingStore(MemoryStore):
    """Signals instance completion without polling."""

    def __init__(self) -> None:
        super().__init__()
        self.waiters: dict[str, asyncio.Future[None]] = {}

    async def commit_episode(self, item: OrchestrationWorkItem, commit: EpisodeCommit) -> None:
        await super().commit_episode(item, commit)
        inst = commit.instance
        if inst is not None and inst.runtime_status in TERMINAL_STATUSES:
            fut = self.waiters.pop(inst.instance_id, None)
            if fut is not None and not fut.done():
                fut.set_result(None)


class DevhostRunner:
    def __init__(self) -> None:
        self.store = CountingStore()
        self.engine = Engine(index_app(app), self.store, SystemClock(), measure=True)
        self.client = DurableClient(self.store, self.engine.index, self.engine.clock)
        self.busy = 0.0
        real_process = self.engine.process_orchestration
        real_lock = self.store.lock_next_orchestration

        async def timed_process(item: OrchestrationWorkItem) -> None:
            t0 = time.perf_counter()
            await real_process(item)
            self.busy += time.perf_counter() - t0

        async def timed_lock(now: dt.datetime, lock_for: dt.timedelta) -> OrchestrationWorkItem | None:
            t0 = time.perf_counter()
            item = await real_lock(now, lock_for)
            if item is not None:
                self.busy += time.perf_counter() - t0
            return item

        self.engine.process_orchestration = timed_process  # type: ignore[method-assign]
        self.store.lock_next_orchestration = timed_lock  # type: ignore[method-assign]

    async def __aenter__(self) -> DevhostRunner:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            self.engine.run(self.stop, poll_interval=0.05, max_concurrent_activities=ACTIVITY_CONCURRENCY)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await self.task
        self.engine.close()

    async def start(self, name: str, value: Any) -> asyncio.Future[None]:
        body = None if value is None else json.dumps(json.dumps(value))
        iid = await self.client.start(name, None, body)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.store.waiters[iid] = fut
        return fut


async def devhost_hello5(n: int, concurrent: bool) -> dict[str, Any]:
    async with DevhostRunner() as r:
        t0 = time.perf_counter()
        if concurrent:
            futs = [await r.start("hello5", None) for _ in range(n)]
            await asyncio.wait_for(asyncio.gather(*futs), 300)
        else:
            for _ in range(n):
                await asyncio.wait_for(await r.start("hello5", None), 60)
        wall = time.perf_counter() - t0
        episodes = r.engine.episodes
        sdk = r.engine.runner.stats.sdk_seconds
        return {
            "instances": n,
            "wall_s": round(wall, 4),
            "orchestrations_per_s": round(n / wall, 1),
            "episodes": episodes,
            "engine_overhead_ms_per_episode": round((r.busy - sdk) / episodes * 1000, 4),
            "sdk_replay_ms_per_episode": round(sdk / episodes * 1000, 4),
        }


async def devhost_fan_out(n: int) -> dict[str, Any]:
    async with DevhostRunner() as r:
        t0 = time.perf_counter()
        await asyncio.wait_for(await r.start("fan_out", n), 300)
        wall = time.perf_counter() - t0
        return {"activities": n, "wall_s": round(wall, 4), "episodes": r.engine.episodes}


def devhost_replay_cost(length: int) -> dict[str, Any]:
    """SDK replay and devhost's own REPLAY + context serialization, per history event, on a chain of
    ``length`` completed activities (history ≈ 4 events per activity)."""

    async def build() -> list[h.HistoryEvent]:
        hh = AsyncDurableHarness(app)
        try:
            iid = await hh.start_new("chain", length)
            await hh.wait_for_completion(iid)
            return await hh.history(iid)
        finally:
            hh.close()

    hist = asyncio.run(build())
    body = hist[:-2]  # drop ExecutionCompleted/OrchestratorCompleted: replay the last episode again
    orch = index_app(app).orchestrator("chain")
    assert orch is not None
    oi = body[1]["OrchestrationInstance"]
    ctx = json.dumps(
        {
            "history": body,
            "input": json.loads(body[1]["Input"]),
            "instanceId": oi["InstanceId"],
            "isReplaying": True,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
    )
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        state, _err = invoke_orchestrator(orch.handle, ctx)
    sdk = (time.perf_counter() - t0) / reps
    import importlib

    from devhost.engine import sdk_speedups

    mod: Any = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    cached_parse = mod.dt_parse
    uncached = sdk if sdk_speedups._installed is None else None
    if sdk_speedups._installed is not None:
        mod.dt_parse = sdk_speedups._installed.original  # the SDK as shipped, for comparison
        try:
            t0 = time.perf_counter()
            for _ in range(reps):
                invoke_orchestrator(orch.handle, ctx)
            uncached = (time.perf_counter() - t0) / reps
        finally:
            mod.dt_parse = cached_parse
    t0 = time.perf_counter()
    for _ in range(reps):
        Replayer(
            instance_id=oi["InstanceId"],
            execution_id=oi["ExecutionId"],
            check_activity=lambda n: None,
            check_orchestrator=lambda n: None,
        ).run(body, state)
    replay = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        json.dumps(body)
    ser = (time.perf_counter() - t0) / reps
    ev = len(body)
    return {
        "history_events": ev,
        "sdk_replay_us_per_event": round(sdk / ev * 1e6, 3),
        "sdk_replay_us_per_event_without_timestamp_cache": round((uncached or 0) / ev * 1e6, 3),
        "devhost_replay_us_per_event": round(replay / ev * 1e6, 3),
        "full_context_serialization_us_per_event": round(ser / ev * 1e6, 3),
        "note": "devhost serializes only new events per episode (cached history fragment); the full "
        "serialization figure is the cost it avoids",
    }


# ------------------------------------------------------------------------------------------ durabletask peer
def keep_best(out: dict[str, Any], key: str, run: dict[str, Any]) -> None:
    """Keep the fastest of the repeated runs (least disturbed by other load), listing every wall time."""
    runs = [*out.get(key, {}).get("runs_wall_s", []), run["wall_s"]]
    best = out.get(key)
    if best is None or run["wall_s"] < best["wall_s"]:
        best = dict(run)
    best["runs_wall_s"] = runs
    out[key] = best


def durabletask_suite(
    hello_one: int, hello_many: int, fan: int, chain_len: int, repeats: int
) -> dict[str, Any]:
    try:
        from concurrent import futures

        import durabletask
        import grpc
        from durabletask import client as dt_client
        from durabletask import task as dt_task
        from durabletask import worker as dt_worker
        from durabletask.internal import orchestrator_service_pb2_grpc as stubs
        from durabletask.testing import InMemoryOrchestrationBackend
    except ImportError as exc:
        return {
            "available": False,
            "reason": f"durabletask not installed ({exc}); pip install -r bench/requirements.txt",
        }

    class LocalBackend(InMemoryOrchestrationBackend):  # type: ignore[misc]
        """Same backend, bound to 127.0.0.1 on a free port (the stock one binds [::]:50051)."""

        def start(self) -> str:
            self._shutdown_event.clear()
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
            self._server = server
            stubs.add_TaskHubSidecarServiceServicer_to_server(self, server)
            self._port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            return f"127.0.0.1:{self._port}"

    def say_hello_dt(ctx: Any, city: str) -> str:
        return f"Hello {city}!"

    def hello5_dt(ctx: Any, _: Any) -> Any:
        out = []
        for c in CITIES:
            out.append((yield ctx.call_activity(say_hello_dt, input=c)))
        return out

    def fan_out_dt(ctx: Any, n: int) -> Any:
        res = yield dt_task.when_all([ctx.call_activity(say_hello_dt, input=str(i)) for i in range(n)])
        return len(res)

    logging.getLogger("durabletask").setLevel(logging.WARNING)
    backend = LocalBackend()
    addr = backend.start()
    w = dt_worker.TaskHubGrpcWorker(host_address=addr)
    w.add_orchestrator(hello5_dt)
    w.add_orchestrator(fan_out_dt)
    w.add_activity(say_hello_dt)
    w.start()
    c = dt_client.TaskHubGrpcClient(host_address=addr)
    out: dict[str, Any] = {"available": True, "version": getattr(durabletask, "__version__", "1.12.0")}
    try:

        def run(orch: Callable[..., Any], value: Any, count: int, concurrent: bool) -> float:
            t0 = time.perf_counter()
            if concurrent:
                ids = [c.schedule_new_orchestration(orch, input=value) for _ in range(count)]
                for i in ids:
                    st = c.wait_for_orchestration_completion(i, timeout=300)
                    assert st is not None and st.runtime_status.name == "COMPLETED", st
            else:
                for _ in range(count):
                    i = c.schedule_new_orchestration(orch, input=value)
                    st = c.wait_for_orchestration_completion(i, timeout=60)
                    assert st is not None and st.runtime_status.name == "COMPLETED", st
            return time.perf_counter() - t0

        run(hello5_dt, None, 3, False)  # warm-up
        for _ in range(repeats):
            wall = run(hello5_dt, None, hello_one, False)
            keep_best(
                out,
                "hello5_1",
                {
                    "instances": hello_one,
                    "wall_s": round(wall, 4),
                    "orchestrations_per_s": round(hello_one / wall, 1),
                },
            )
            wall = run(hello5_dt, None, hello_many, True)
            keep_best(
                out,
                "hello5_1000",
                {
                    "instances": hello_many,
                    "wall_s": round(wall, 4),
                    "orchestrations_per_s": round(hello_many / wall, 1),
                },
            )
            wall = run(fan_out_dt, fan, 1, False)
            keep_best(out, "fan_out_1000", {"activities": fan, "wall_s": round(wall, 4)})
    except Exception as exc:  # noqa: BLE001 - record why the peer failed instead of aborting the run
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        w.stop()
        backend.stop()
    out["replay"] = durabletask_replay_cost(chain_len)
    return out


def durabletask_replay_cost(length: int) -> dict[str, Any]:
    """durabletask's executor replaying a chain of ``length`` completed activities (internal API)."""
    try:
        from durabletask import task as dt_task  # noqa: F401
        from durabletask import worker as dt_worker
        from durabletask.internal import helpers
        from durabletask.payload.json import JsonDataConverter  # type: ignore[import-not-found]
    except ImportError:
        try:
            from durabletask import worker as dt_worker
            from durabletask.internal import helpers
            from durabletask.serialization import JsonDataConverter  # type: ignore[no-redef]
        except ImportError as exc:
            return {"error": f"cannot import executor internals: {exc}"}

    def say(ctx: Any, i: str) -> str:
        return i

    def chain_dt(ctx: Any, n: int) -> Any:
        for i in range(n):
            yield ctx.call_activity(say, input=str(i))
        return "done"

    try:
        reg = dt_worker._Registry()
        reg.add_orchestrator(chain_dt)
        reg.add_activity(say)
        t = dt.datetime(2024, 1, 1)
        events = [
            helpers.new_orchestrator_started_event(t),
            helpers.new_execution_started_event("chain_dt", "i1", json.dumps(length)),
        ]
        for i in range(length):
            events.append(helpers.new_task_scheduled_event(i, "say", json.dumps(str(i))))
            events.append(helpers.new_orchestrator_started_event(t))
            events.append(helpers.new_task_completed_event(i, json.dumps(str(i))))
        reps = 5
        t0 = time.perf_counter()
        for _ in range(reps):
            ex = dt_worker._OrchestrationExecutor(reg, logging.getLogger("dt"), JsonDataConverter())
            ex.execute("i1", events[:-1], events[-1:])
        per = (time.perf_counter() - t0) / reps
        return {"history_events": len(events), "replay_us_per_event": round(per / len(events) * 1e6, 3)}
    except Exception as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------------------------------------- main
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hello-one", type=int, default=100, help="sequential Hello5 instances (1 concurrent)")
    p.add_argument("--hello-many", type=int, default=1000, help="concurrent Hello5 instances")
    p.add_argument("--fan", type=int, default=1000, help="fan-out width")
    p.add_argument("--chain", type=int, default=200, help="chain length for the replay-cost measurement")
    p.add_argument("--repeats", type=int, default=2, help="runs per measurement; the fastest is kept")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("devhost").setLevel(logging.ERROR)

    devhost: dict[str, Any] = {}
    asyncio.run(devhost_hello5(3, False))  # warm-up
    for _ in range(args.repeats):
        keep_best(devhost, "hello5_1", asyncio.run(devhost_hello5(args.hello_one, False)))
        keep_best(devhost, "hello5_1000", asyncio.run(devhost_hello5(args.hello_many, True)))
        keep_best(devhost, "fan_out_1000", asyncio.run(devhost_fan_out(args.fan)))
    devhost["replay"] = devhost_replay_cost(args.chain)
    peer = durabletask_suite(args.hello_one, args.hello_many, args.fan, args.chain, args.repeats)

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 2) if b else None

    targets: dict[str, Any] = {}
    if peer.get("available") and "error" not in peer:
        targets = {
            "hello5_1_throughput_x": ratio(
                devhost["hello5_1"]["orchestrations_per_s"], peer["hello5_1"]["orchestrations_per_s"]
            ),
            "hello5_1000_throughput_x": ratio(
                devhost["hello5_1000"]["orchestrations_per_s"], peer["hello5_1000"]["orchestrations_per_s"]
            ),
            "fan_out_time_fraction": ratio(devhost["fan_out_1000"]["wall_s"], peer["fan_out_1000"]["wall_s"]),
        }
    overhead = max(
        devhost["hello5_1"]["engine_overhead_ms_per_episode"],
        devhost["hello5_1000"]["engine_overhead_ms_per_episode"],
    )
    targets["engine_overhead_ms_per_episode_max"] = overhead
    targets["met"] = {
        "hello5_throughput_2x": bool(
            targets.get("hello5_1_throughput_x")
            and targets.get("hello5_1000_throughput_x")
            and min(targets["hello5_1_throughput_x"], targets["hello5_1000_throughput_x"]) >= 2
        ),
        "fan_out_half_time": bool(
            targets.get("fan_out_time_fraction") is not None and targets["fan_out_time_fraction"] <= 0.5
        ),
        "overhead_le_1ms": overhead <= 1.0,
    }
    doc = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "devhost": devhost,
        "durabletask": peer,
        "targets": targets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
