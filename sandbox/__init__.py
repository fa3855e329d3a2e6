"""Local stand-ins for the booking app's suppliers and payment provider (never deployed).

One aiohttp service with six APIs under their own prefixes, SQLite state, scenario tags read from
the traveller's email, fault injection and signed payment webhooks. See sandbox/README.md.
"""
