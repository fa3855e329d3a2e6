"""Scenario tags: the `+` parts of the traveller's email, as payment sandboxes use test cards.

`ada+noflight+decline@example.com` carries {"noflight", "decline"}; unknown tags are ignored by
whoever asks, so a run id such as `+run42` is harmless.
"""

from __future__ import annotations

FLAKY = "flaky"
NOFLIGHT = "noflight"
NOTRAIN = "notrain"
NOHOTEL = "nohotel"
DOWN = "down"
DECLINE = "decline"
NOPAY = "nopay"

# How many 503s a +flaky airline answers before it books (booking-api.md: "twice").
FLAKY_FAILURES = 2


def tags_of(email: str) -> frozenset[str]:
    """The lower-cased tags in an email's local part (everything after the first `+`)."""
    local = email.rsplit("@", 1)[0]
    return frozenset(part.lower() for part in local.split("+")[1:] if part)
