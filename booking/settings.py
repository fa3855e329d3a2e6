"""App settings (booking-api.md's table), read from the environment once, on first use.

Activities and client functions call `get_settings()`; orchestrators never do: they get the
`OrchestrationSettings` snapshot taken when their booking started.
"""

from __future__ import annotations

import base64
import binascii
import functools

from pydantic import AliasChoices, Field, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from booking.circuit import CircuitPolicy
from booking.errors import ConfigurationError
from booking.orchestration import MAX_PAYMENT_TIMEOUT_SECONDS, OrchestrationSettings, RetryPolicy

# The dev-only webhook secret of local.settings.json: fine on a laptop, refused anywhere else.
DEV_WEBHOOK_SECRET = "whsec_DevOnlyLocalWebhookSecretNotForProduction000"
DEVELOPMENT = "Development"
WEBHOOK_PATH = "/api/webhooks/payments"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    environment: str = Field(default="Production", validation_alias="AZURE_FUNCTIONS_ENVIRONMENT")
    storage_connection: SecretStr = Field(
        default=SecretStr("UseDevelopmentStorage=true"), validation_alias="AzureWebJobsStorage"
    )
    conference_api_url: HttpUrl = Field(validation_alias="CONFERENCE_API_URL")
    airline_api_url: HttpUrl = Field(validation_alias="AIRLINE_API_URL")
    rail_api_url: HttpUrl = Field(validation_alias="RAIL_API_URL")
    hotel_api_url: HttpUrl = Field(validation_alias="HOTEL_API_URL")
    payment_api_url: HttpUrl = Field(validation_alias="PAYMENT_API_URL")
    expense_api_url: HttpUrl = Field(validation_alias="EXPENSE_API_URL")
    payment_webhook_secret: SecretStr = Field(validation_alias="PAYMENT_WEBHOOK_SECRET")
    payment_timeout_seconds: int = Field(
        default=900, gt=0, le=MAX_PAYMENT_TIMEOUT_SECONDS, validation_alias="PAYMENT_TIMEOUT_SECONDS"
    )
    supplier_retry_first_interval_ms: int = Field(
        default=1000, gt=0, validation_alias="SUPPLIER_RETRY_FIRST_INTERVAL_MS"
    )
    supplier_retry_backoff: float = Field(default=2.0, ge=1.0, validation_alias="SUPPLIER_RETRY_BACKOFF")
    supplier_retry_max_interval_ms: int = Field(
        default=60_000, gt=0, validation_alias="SUPPLIER_RETRY_MAX_INTERVAL_MS"
    )
    supplier_retry_max_attempts: int = Field(
        default=5, ge=1, le=50, validation_alias="SUPPLIER_RETRY_MAX_ATTEMPTS"
    )
    circuit_failure_threshold: int = Field(
        default=5, ge=1, le=1000, validation_alias="CIRCUIT_FAILURE_THRESHOLD"
    )
    circuit_window_seconds: int = Field(
        default=60, gt=0, le=86_400, validation_alias="CIRCUIT_WINDOW_SECONDS"
    )
    circuit_cooldown_seconds: int = Field(
        default=30, gt=0, le=86_400, validation_alias="CIRCUIT_COOLDOWN_SECONDS"
    )
    public_base_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:7071"), validation_alias="PUBLIC_BASE_URL"
    )
    # Not in the contract's table: how long one supplier HTTP call may take before it counts as transient.
    supplier_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, validation_alias=AliasChoices("SUPPLIER_TIMEOUT_SECONDS")
    )

    @property
    def is_development(self) -> bool:
        return self.environment == DEVELOPMENT

    @field_validator("payment_webhook_secret")
    @classmethod
    def _well_formed_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.startswith("whsec_"):
            raise ValueError("PAYMENT_WEBHOOK_SECRET must look like whsec_<base64>")
        try:
            key = base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("PAYMENT_WEBHOOK_SECRET must look like whsec_<base64>") from None
        if len(key) < 24:
            raise ValueError("PAYMENT_WEBHOOK_SECRET is too short (at least 24 bytes of key)")
        return value

    @model_validator(mode="after")
    def _no_dev_secret_outside_development(self) -> Settings:
        if not self.is_development and self.payment_webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET:
            # Anyone who has read the repository could forge payment webhooks with it.
            raise ValueError(
                "PAYMENT_WEBHOOK_SECRET is the dev-only value; set a real secret "
                "(AZURE_FUNCTIONS_ENVIRONMENT is not Development)"
            )
        if self.supplier_retry_max_interval_ms < self.supplier_retry_first_interval_ms:
            raise ValueError("SUPPLIER_RETRY_MAX_INTERVAL_MS is below SUPPLIER_RETRY_FIRST_INTERVAL_MS")
        return self

    @property
    def webhook_key(self) -> bytes:
        """The HMAC key: base64-decoded part after `whsec_`."""
        return base64.b64decode(self.payment_webhook_secret.get_secret_value().removeprefix("whsec_"))

    @property
    def payment_callback_url(self) -> str:
        return str(self.public_base_url).rstrip("/") + WEBHOOK_PATH

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            first_interval_ms=self.supplier_retry_first_interval_ms,
            backoff=self.supplier_retry_backoff,
            max_interval_ms=self.supplier_retry_max_interval_ms,
            max_attempts=self.supplier_retry_max_attempts,
        )

    @property
    def circuit_policy(self) -> CircuitPolicy:
        return CircuitPolicy(
            failure_threshold=self.circuit_failure_threshold,
            window_seconds=self.circuit_window_seconds,
            cooldown_seconds=self.circuit_cooldown_seconds,
        )

    def snapshot(self) -> OrchestrationSettings:
        """What a new booking orchestration is steered by (goes into its input, so into history)."""
        return OrchestrationSettings(
            retry=self.retry_policy,
            circuit=self.circuit_policy,
            payment_timeout_seconds=self.payment_timeout_seconds,
            payment_callback_url=self.payment_callback_url,
        )


@functools.cache
def get_settings() -> Settings:
    """The settings, read from the environment on first call; `ConfigurationError` if invalid.

    Tests that change the environment call `get_settings.cache_clear()`.
    """
    try:
        return Settings()  # type: ignore[call-arg]  # fields come from the environment
    except ValueError as exc:
        # Keep only field names and messages: a pydantic error would echo the (secret) input values.
        raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return "invalid settings"
    parts = []
    for error in errors():
        field = ".".join(str(p) for p in error.get("loc", ())) or "settings"
        parts.append(f"{field}: {error.get('msg', 'invalid')}")
    return "invalid settings: " + "; ".join(parts)
