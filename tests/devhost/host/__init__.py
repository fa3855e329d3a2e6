"""Tests of devhost serving: CLI, config, loader, HTTP front, management API, binding, keys."""
