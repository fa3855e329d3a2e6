"""devhost's web layer: HTTP triggers, the Durable management API, the durableClient binding and keys."""
