"""The installed SDK versions, written into every vector so that an upgrade shows in the diff."""

import sys
from importlib.metadata import version

DURABLE = version("azure-functions-durable")
FUNCTIONS = version("azure-functions")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
SDK = f"azure-functions-durable {DURABLE} / azure-functions {FUNCTIONS} (Python {PYTHON})"
