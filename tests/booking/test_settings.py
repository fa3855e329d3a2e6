"""Settings load lazily from the environment and refuse the dev secret outside development."""

import pytest

from booking.errors import ConfigurationError
from booking.settings import DEV_WEBHOOK_SECRET, get_settings

_BASE = {
    "CONFERENCE_API_URL": "http://127.0.0.1:7080/conference",
    "AIRLINE_API_URL": "http://127.0.0.1:7080/airline",
    "RAIL_API_URL": "http://127.0.0.1:7080/rail",
    "HOTEL_API_URL": "http://127.0.0.1:7080/hotel",
    "PAYMENT_API_URL": "http://127.0.0.1:7080/payment",
    "EXPENSE_API_URL": "http://127.0.0.1:7080/expense",
    "PAYMENT_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
}


@pytest.fixture
def env(monkeypatch):
    for name, value in _BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AZURE_FUNCTIONS_ENVIRONMENT", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_development_accepts_the_dev_secret_and_snapshots_the_policy(env):
    env.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    env.setenv("SUPPLIER_RETRY_MAX_ATTEMPTS", "3")
    env.setenv("PUBLIC_BASE_URL", "https://trips.example.com/")
    snapshot = get_settings().snapshot()
    assert snapshot.retry.max_attempts == 3
    assert snapshot.payment_timeout_seconds == 900
    assert snapshot.payment_callback_url == "https://trips.example.com/api/webhooks/payments"


def test_dev_secret_is_refused_outside_development_without_echoing_it(env):
    with pytest.raises(ConfigurationError) as info:
        get_settings()
    assert "dev-only" in str(info.value)
    assert DEV_WEBHOOK_SECRET not in str(info.value)


@pytest.mark.parametrize("secret", ["plain", "whsec_!!!", "whsec_c2hvcnQ="])
def test_malformed_secret_is_refused_without_echoing_it(env, secret):
    env.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    env.setenv("PAYMENT_WEBHOOK_SECRET", secret)
    with pytest.raises(ConfigurationError) as info:
        get_settings()
    assert secret not in str(info.value)


def test_production_with_a_real_secret_and_loaded_once(env):
    env.setenv("PAYMENT_WEBHOOK_SECRET", "whsec_" + "QUJD" * 10)
    first = get_settings()
    env.setenv("PAYMENT_TIMEOUT_SECONDS", "60")
    assert get_settings() is first
    assert first.webhook_key == b"ABC" * 10


def test_missing_url_names_the_setting(env):
    env.delenv("HOTEL_API_URL")
    env.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    with pytest.raises(ConfigurationError, match="HOTEL_API_URL"):
        get_settings()


def test_the_circuit_breaker_settings_are_snapshotted_with_the_retry_policy(env):
    env.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    env.setenv("CIRCUIT_FAILURE_THRESHOLD", "3")
    env.setenv("CIRCUIT_WINDOW_SECONDS", "20")
    env.setenv("CIRCUIT_COOLDOWN_SECONDS", "7")
    circuit = get_settings().snapshot().circuit
    assert (circuit.failure_threshold, circuit.window_seconds, circuit.cooldown_seconds) == (3, 20, 7)


def test_a_bad_circuit_setting_names_itself(env):
    env.setenv("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    env.setenv("CIRCUIT_COOLDOWN_SECONDS", "0")
    with pytest.raises(ConfigurationError, match="CIRCUIT_COOLDOWN_SECONDS"):
        get_settings()
