"""Settings from the environment and the webhook retry schedule (units, no process)."""

from __future__ import annotations

import pytest

from sandbox.provider import backoff
from sandbox.settings import Settings, SettingsError, webhook_key
from tests.support.sandbox import TEST_WEBHOOK_SECRET


def test_defaults_and_overrides():
    s = Settings.from_env({"PAYMENT_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET})
    assert s.payment_delay_seconds == 1.0 and s.webhook_retry_seconds == 1.0 and s.webhook_max_attempts == 8
    s = Settings.from_env(
        {
            "PAYMENT_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
            "SANDBOX_PAYMENT_DELAY_SECONDS": "0",
            "SANDBOX_WEBHOOK_MAX_ATTEMPTS": "3",
        }
    )
    assert s.payment_delay_seconds == 0.0 and s.webhook_max_attempts == 3
    assert webhook_key(TEST_WEBHOOK_SECRET) == b"sandbox-tests-only-webhook-key-1"
    assert "sandbox-tests-only" not in repr(s)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "PAYMENT_WEBHOOK_SECRET is not set"),
        ({"PAYMENT_WEBHOOK_SECRET": "secret"}, "must start with 'whsec_'"),
        ({"PAYMENT_WEBHOOK_SECRET": "whsec_***"}, "followed by base64"),
        ({"PAYMENT_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "at least 16 bytes"),
        (
            {"PAYMENT_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET, "SANDBOX_PAYMENT_DELAY_SECONDS": "soon"},
            "a number",
        ),
        ({"PAYMENT_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET, "SANDBOX_WEBHOOK_MAX_ATTEMPTS": "0"}, "between"),
    ],
)
def test_bad_settings_are_refused_by_name(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_backoff_doubles_from_the_first_interval_up_to_the_cap():
    s = Settings(webhook_key=b"k" * 16, webhook_retry_seconds=1.0, webhook_max_interval_seconds=60.0)
    assert [backoff(n, s) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
