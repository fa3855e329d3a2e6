"""Fixtures for the Azure Storage store tests: one Azurite per session, a unique task hub per test."""

from tests.support.azurite import azurite  # noqa: F401  (session fixture shared by this folder)
