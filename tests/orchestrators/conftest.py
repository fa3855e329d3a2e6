"""The real sandbox for the orchestrator tests that run the app's real activities end to end."""

from tests.support.sandbox import sandbox  # noqa: F401  (the session fixture, declared for this folder)
