"""Fixtures shared across test folders: real processes (Azurite, sandbox, devhost) on free ports."""
