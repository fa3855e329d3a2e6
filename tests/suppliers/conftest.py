"""The real sandbox process for the smoke tests (one per session, started only when a test asks)."""

from tests.support.sandbox import sandbox  # noqa: F401  (session fixture)
