"""Tests of the supplier clients (suppliers/): MockTransport for every mapping, the real sandbox for smoke."""
