"""Tests of the supplier sandbox (sandbox/): real process, real HTTP, real signatures."""
