"""Entry point: `python -m devhost start [--app-root DIR] [--port N] [--storage memory|CONN] [--auth]`."""

import sys

from devhost.cli import main

sys.exit(main(prog="python -m devhost"))
