"""The sandbox's settings, read once from the environment at start-up.

PAYMENT_WEBHOOK_SECRET is the same setting the app verifies with, so it is required: a silent
mismatch would only show up later as 401s from the app's webhook endpoint.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it (never its value)."""


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (Standard Webhooks)."""
    if not secret.startswith(SECRET_PREFIX):
        raise SettingsError("PAYMENT_WEBHOOK_SECRET must start with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SettingsError("PAYMENT_WEBHOOK_SECRET must be 'whsec_' followed by base64") from exc
    if len(key) < 16:
        raise SettingsError("PAYMENT_WEBHOOK_SECRET must hold at least 16 bytes of key")
    return key


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the sandbox reads from its environment."""

    webhook_key: bytes
    payment_delay_seconds: float = 1.0
    webhook_retry_seconds: float = 1.0
    webhook_max_attempts: int = 8
    webhook_max_interval_seconds: float = 60.0
    webhook_timeout_seconds: float = 10.0
    webhook_concurrency: int = 8

    def __repr__(self) -> str:  # the key must never reach a log line
        return (
            f"Settings(payment_delay_seconds={self.payment_delay_seconds}, "
            f"webhook_retry_seconds={self.webhook_retry_seconds}, "
            f"webhook_max_attempts={self.webhook_max_attempts}, "
            f"webhook_concurrency={self.webhook_concurrency})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        secret = env.get("PAYMENT_WEBHOOK_SECRET", "")
        if not secret:
            raise SettingsError("PAYMENT_WEBHOOK_SECRET is not set (use the same whsec_… value as the app)")
        return cls(
            webhook_key=webhook_key(secret),
            payment_delay_seconds=_number(env, "SANDBOX_PAYMENT_DELAY_SECONDS", 1.0, 0.0, 3600.0),
            webhook_retry_seconds=_number(env, "SANDBOX_WEBHOOK_RETRY_SECONDS", 1.0, 0.0, 3600.0),
            webhook_max_attempts=int(_number(env, "SANDBOX_WEBHOOK_MAX_ATTEMPTS", 8, 1, 100)),
            webhook_concurrency=int(_number(env, "SANDBOX_WEBHOOK_CONCURRENCY", 8, 1, 100)),
        )
