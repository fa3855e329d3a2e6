"""Test suite: mirrors the source tree; tests/e2e runs the real processes."""
