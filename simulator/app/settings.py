"""The Simulator's settings, read from the environment and the repo root's `.env`.

The `WHATSAPP_*` names are shared with the Router: the token the Router sends is the one accepted
here, and the app secret the Router checks is the one that signs these webhooks. Unlike the Router,
the Simulator gives them development defaults so it starts with nothing configured. They make the
default business number; `SIMULATOR_BUSINESSES` (a JSON list) adds more, each with its own token.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.businesses import BusinessIn

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    whatsapp_access_token: SecretStr = SecretStr("dev-token")
    whatsapp_app_secret: SecretStr = SecretStr("dev-app-secret")
    whatsapp_webhook_verify_token: SecretStr = SecretStr("dev-verify-token")
    whatsapp_phone_number_id: str = "1122334455667"

    simulator_webhook_url: str = "http://127.0.0.1:8000/webhook"
    simulator_display_phone_number: str = "972123456789"
    simulator_waba_id: str = "1234567890987654321"
    simulator_business_name: str = "Simulator Business"
    # More business numbers, e.g. `[{"phone_number_id": "2233445566778", "display_phone_number":
    # "15550002000", "access_token": "...", "waba_id": "...", "name": "Second Business"}]`.
    simulator_businesses: list[BusinessIn] = Field(default_factory=list)
    # Delay before each status webhook, counted from the previous one.
    simulator_sent_delay_ms: int = Field(default=200, ge=0)
    simulator_delivered_delay_ms: int = Field(default=300, ge=0)
    simulator_read_delay_ms: int = Field(default=500, ge=0)
    # Statuses due in the same window go out in one body, as Meta batches them under load; at most
    # this many per body (1: one status per body, always).
    simulator_status_batch_max: int = Field(default=100, ge=1)
    simulator_status_batch_window_ms: int = Field(default=25, ge=0)
    # Meta retries a failed delivery for days; a dev tool gives up after a few seconds.
    simulator_webhook_attempts: int = Field(default=4, ge=1)
    simulator_webhook_backoff_ms: int = Field(default=200, ge=0)
    simulator_webhook_backoff_max_ms: int = Field(default=2000, ge=0)
    simulator_webhook_timeout_s: float = Field(default=10.0, gt=0)
    simulator_window_hours: float = Field(default=24.0, gt=0)
    # How long a media URL from `GET /{version}/{media_id}` downloads (Meta: 5 minutes).
    simulator_media_url_seconds: float = Field(default=300.0, gt=0)
    # false: a user who never wrote here is inside the window (only `outside_window` closes it).
    simulator_enforce_window: bool = True
    # Fault defaults; the control API changes them at run time and /sim/reset restores these.
    simulator_latency_ms: int = Field(default=0, ge=0)
    simulator_error_rate: float = Field(default=0.0, ge=0, le=1)
    simulator_error_status: int = Field(default=500, ge=400, le=599)
    simulator_error_code: int = 131000
    simulator_webhook_drop_rate: float = Field(default=0.0, ge=0, le=1)
    simulator_webhook_duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    simulator_statuses_out_of_order: bool = False

    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"

    @model_validator(mode="after")
    def _numbers_are_unique(self) -> "Settings":
        seen = {self.whatsapp_phone_number_id}
        for business in self.simulator_businesses:
            if business.phone_number_id in seen:
                number = business.phone_number_id
                raise ValueError(f"SIMULATOR_BUSINESSES: phone_number_id {number} is given twice")
            seen.add(business.phone_number_id)
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
