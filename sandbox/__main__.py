"""`python -m sandbox [--port 7080] [--db PATH]`: run the supplier sandbox on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from sandbox.app import serve
from sandbox.settings import Settings, SettingsError

DEFAULT_DB = Path(".sandbox/sandbox.sqlite3")


def _keep_out_of_git(db: Path) -> None:
    """The default state folder ignores itself (SQLite's -wal/-shm files are not *.sqlite3)."""
    if db == DEFAULT_DB:
        db.parent.mkdir(parents=True, exist_ok=True)
        marker = db.parent / ".gitignore"
        if not marker.exists():
            marker.write_text("# sandbox state, written by python -m sandbox\n*\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Local supplier sandbox.")
    parser.add_argument("--port", type=int, default=7080, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite state file")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        # `make run` sets LOG_LINE_FORMAT so that its three processes share one line format.
        format=os.environ.get("LOG_LINE_FORMAT", "%(asctime)s %(levelname)s %(name)s: %(message)s"),
    )
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    _keep_out_of_git(args.db)
    try:
        asyncio.run(serve(args.db, args.port, settings))
    except OSError as exc:
        print(f"sandbox: cannot serve: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
