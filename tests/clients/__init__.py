"""Tests of the HTTP edge: client functions driven with real func.HttpRequest objects."""
