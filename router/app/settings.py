"""The Router's settings, read from the environment and the repo root's `.env`.

A missing required secret stops start-up with a message naming the variable, never its value.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pywa_async import utils as pywa_utils

REPO_ROOT = Path(__file__).resolve().parents[2]

DEFAULT_GRAPH_API_VERSION = str(pywa_utils.Version.GRAPH_API.value)


class SettingsError(RuntimeError):
    """Start-up configuration is incomplete or invalid."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    whatsapp_phone_number_id: str = Field(min_length=1)
    whatsapp_access_token: SecretStr
    whatsapp_webhook_verify_token: SecretStr
    # Required; None only when ROUTER_ALLOW_UNSIGNED_WEBHOOKS is on.
    whatsapp_app_secret: SecretStr | None
    whatsapp_graph_api_url: AnyHttpUrl = AnyHttpUrl("https://graph.facebook.com")
    whatsapp_graph_api_version: str = DEFAULT_GRAPH_API_VERSION
    whatsapp_send_timeout_seconds: float = Field(default=15.0, gt=0)

    server_base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8001")
    server_timeout_seconds: float = Field(default=10.0, gt=0)

    # Development only: accept webhooks without a valid X-Hub-Signature-256.
    router_allow_unsigned_webhooks: bool = False

    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"

    @model_validator(mode="before")
    @classmethod
    def _require_app_secret(cls, data: Any) -> Any:
        # Checked before the fields so that a missing secret is reported with the other missing
        # settings, not after they are fixed.
        if not isinstance(data, dict):
            return data
        allowed = TypeAdapter(bool).validate_python(
            data.get("router_allow_unsigned_webhooks") or False
        )
        secret = data.get("whatsapp_app_secret")
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        if not secret:
            data = {k: v for k, v in data.items() if k != "whatsapp_app_secret"}
            if allowed:
                data["whatsapp_app_secret"] = None
        return data

    @property
    def graph_api_base_url(self) -> str:
        return f"{str(self.whatsapp_graph_api_url).rstrip('/')}/v{self.whatsapp_graph_api_version}"


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one readable start-up error."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            name = "_".join(str(part) for part in error["loc"]).upper()
            reason = "is not set" if error["type"] == "missing" else error["msg"]
            problems.append(f"{name} {reason}" if name else reason)
            if name == "WHATSAPP_APP_SECRET":
                problems.append(
                    "the app secret checks webhook signatures (ROUTER_ALLOW_UNSIGNED_WEBHOOKS=true "
                    "turns the check off, for local development only)"
                )
        raise SettingsError(
            "The router cannot start: "
            + "; ".join(problems)
            + ". Set them in the environment or in .env at the repo root (see .env.example)."
        ) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
