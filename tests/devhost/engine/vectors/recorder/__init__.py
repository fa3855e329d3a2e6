"""Records the SDK vectors in tests/devhost/engine/vectors/ by running the installed official SDK:
`python -m tests.devhost.engine.vectors.recorder [--out DIR]` (default: that folder). The vector tests
check devhost against these files; test_vectors_recorded.py records afresh and compares, so an SDK
upgrade shows exactly what changed."""
