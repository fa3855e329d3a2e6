"""Benchmark of the replay gate: how long `devhost replay` takes over N exported histories (the recorded
booking corpus, repeated to N files), beside the cost of just reading and parsing the same files.

    .venv/bin/python bench/replay.py [--histories 500] [--out bench/results/replay.json]

Target (issue "Safe deploys"): 500 histories in under 10 seconds. Measured twice: the whole command as a
user runs it (a fresh process: Python start, the app's import, every file), and the replay alone in this
process (per history).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.results_file import write_results  # noqa: E402
from devhost.app_index import index_app  # noqa: E402
from devhost.replay_gate import read_history_file, replay  # noqa: E402
from tests.orchestrators.world import make_app  # noqa: E402

CORPUS = REPO / "tests" / "orchestrators" / "corpus" / "histories"
TARGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=500)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "replay.json")
    args = parser.parse_args()
    corpus = sorted(CORPUS.glob("*.json"))
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as scratch:
        folder = Path(scratch)
        files = []
        for n in range(args.histories):
            source = corpus[n % len(corpus)]
            target = folder / f"{n:04d}-{source.name}"
            shutil.copy(source, target)
            files.append(target)

        started = time.perf_counter()
        parsed = [read_history_file(f) for f in files]
        parse_s = time.perf_counter() - started

        index = index_app(make_app())
        started = time.perf_counter()
        verdicts = [replay(index, h) for h in parsed]
        replay_s = time.perf_counter() - started

        env = {**os.environ, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-m", "devhost", "replay", "--app-root", str(REPO), str(folder)]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
        command_s = time.perf_counter() - started

    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()[0]},
        "histories": args.histories,
        "events": sum(len(h.history) for h in parsed),
        "diverged": sum(not v.ok for v in verdicts),
        "read_and_parse_s": round(parse_s, 3),
        "replay_in_process_s": round(replay_s, 3),
        "replay_ms_per_history": round(1000 * replay_s / args.histories, 3),
        "command_s": round(command_s, 3),
        "command_exit": result.returncode,
        "target_s": TARGET_SECONDS,
        "met": command_s < TARGET_SECONDS and result.returncode == 0,
    }
    write_results(results, args.out)


if __name__ == "__main__":
    main()
