"""`devhost replay` and `devhost history export`: the replay gate's two commands.

    devhost history export (--storage CONN [--hub NAME] | --url http://127.0.0.1:7071) \
        (--instance ID ... | --name N) --out DIR
    devhost replay FILE... [--app-root DIR]

`replay` prints one line per file (`ok`, `DIVERGED` with the first divergence, or `BAD` with what is
wrong with the file) and exits 0 when every history replays, 1 on any divergence, 2 on any bad file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

from devhost.loader import AppLoadError, load_app
from devhost.replay_gate import HistoryFileError, exported_from, read_history_file, replay
from devhost.store.base import InstanceQuery

EXIT_DIVERGED = 1
EXIT_BAD_INPUT = 2
EXIT_APP = 3
EXIT_STORAGE = 4
_PAGE = 500


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gate = sub.add_parser("replay", help="replay exported histories against the app's orchestrators")
    gate.add_argument("files", nargs="+", type=Path, help="exported history files (or folders of them)")
    gate.add_argument("--app-root", default=".", help="folder holding function_app.py")
    gate.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    history = sub.add_parser("history", help="work with orchestration histories")
    history_sub = history.add_subparsers(dest="history_command", required=True)
    export = history_sub.add_parser("export", help="export instance histories from a task hub")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--storage", help="an Azure Storage connection string (or Azurite's)")
    source.add_argument("--url", help="a running devhost (e.g. http://127.0.0.1:7071), whatever its store")
    export.add_argument("--key", default=None, help="with --url and --auth: the host's master key")
    export.add_argument("--hub", default="TestHubName", help="task hub name (default TestHubName)")
    export.add_argument("--instance", action="append", default=[], help="an instance id (repeatable)")
    export.add_argument("--name", default=None, help="every instance of this orchestrator")
    export.add_argument("--out", required=True, type=Path, help="folder to write <instance id>.json into")
    export.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def run_replay(args: argparse.Namespace) -> int:
    try:
        return _replay_files(args)
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error of the histories
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout again at exit
        return 0


def _replay_files(args: argparse.Namespace) -> int:
    try:
        _, index = load_app(Path(args.app_root).resolve(), os.environ)
    except AppLoadError as exc:
        print(f"devhost: {exc}")
        return EXIT_APP
    files = [f for path in args.files for f in (sorted(path.glob("*.json")) if path.is_dir() else [path])]
    bad = diverged = 0
    for path in files:
        try:
            verdict = replay(index, read_history_file(path))
        except HistoryFileError as exc:
            bad += 1
            print(f"BAD      {path}: {exc}")
            continue
        label = f"{verdict.name}" + (f" v{verdict.version}" if verdict.version else "")
        if verdict.ok:
            print(f"ok       {path} ({label})")
        else:
            diverged += 1
            print(f"DIVERGED {path} ({label}, {verdict.instance_id}): {verdict.divergence}")
    print(f"{len(files)} histories: {len(files) - bad - diverged} ok, {diverged} diverged, {bad} bad")
    return EXIT_BAD_INPUT if bad else EXIT_DIVERGED if diverged else 0


def run_export(args: argparse.Namespace) -> int:
    if not args.instance and not args.name:
        print("devhost: history export needs --instance ID or --name NAME")
        return EXIT_BAD_INPUT
    return asyncio.run(_export_from_host(args) if args.url else _export(args))


async def _export_from_host(args: argparse.Namespace) -> int:
    """Through a running devhost's dashboard API: also reaches an in-memory task hub."""
    import aiohttp

    api = f"{args.url.rstrip('/')}/_devhost/api"
    headers = {"x-functions-key": args.key} if args.key else {}
    try:
        async with aiohttp.ClientSession(headers=headers, raise_for_status=True) as http:
            ids = list(args.instance)
            page = 1
            while args.name:
                query = {"name": args.name, "page": str(page), "pageSize": str(_PAGE)}
                async with http.get(f"{api}/instances", params=query) as response:
                    body = await response.json()
                ids += [
                    row["instanceId"] for row in body["instances"] if row["name"].lower() == args.name.lower()
                ]
                if page * _PAGE >= body["total"]:
                    break
                page += 1
            args.out.mkdir(parents=True, exist_ok=True)
            for instance_id in ids:
                async with http.get(f"{api}/instances/{quote(instance_id, safe='')}/history") as response:
                    text = await response.text()
                target = args.out / f"{_file_name(instance_id)}.json"
                target.write_text(text, encoding="utf-8")
                print(f"exported {instance_id} -> {target}")
    except aiohttp.ClientError as exc:
        print(f"devhost: {args.url} did not answer as a devhost ({type(exc).__name__})")
        return EXIT_STORAGE
    return 0


async def _export(args: argparse.Namespace) -> int:
    from devhost.store.azure import create_store

    store = create_store(args.storage, hub_name=args.hub)
    try:
        await store.open()
    except Exception as exc:  # noqa: BLE001 - one line for the console, never the connection string
        print(f"devhost: the task hub cannot be read ({type(exc).__name__})")
        return EXIT_STORAGE
    try:
        records = [r for r in [await store.get_instance(i) for i in args.instance] if r is not None]
        if args.name:
            token = None
            while True:
                page, token = await store.query_instances(InstanceQuery(), _PAGE, token)
                records.extend(r for r in page if r.name.lower() == args.name.lower())
                if not token:
                    break
        args.out.mkdir(parents=True, exist_ok=True)
        for record in records:
            history = await store.get_history(record.instance_id)
            exported = exported_from(record.instance_id, record.name, record.version, history)
            target = args.out / f"{_file_name(record.instance_id)}.json"
            target.write_text(exported.to_json(), encoding="utf-8")
            print(f"exported {record.instance_id} -> {target}")
    finally:
        await store.close()
    return 0


def _file_name(instance_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", instance_id)
