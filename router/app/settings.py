"""The Router's settings, read from the environment and the repo root's `.env`.

A missing required secret stops start-up with a message naming the variable, never its value.
"""

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pywa_async import utils as pywa_utils

from app.secrets.keyring import KeyRingError, parse_keys

ROUTER_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = ROUTER_ROOT.parent
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{ROUTER_ROOT / 'data' / 'router.db'}"
# The key that encrypts the stored secrets when ROUTER_ENCRYPTION_KEYS is not set: made on first
# start beside the default database.
DEFAULT_KEY_FILE = ROUTER_ROOT / "data" / "encryption.key"
# Where media files are kept when no S3-compatible store is set: beside the default database,
# outside what git tracks (router/data/ is ignored).
DEFAULT_MEDIA_DIR = ROUTER_ROOT / "data" / "media"

DEFAULT_GRAPH_API_VERSION = str(pywa_utils.Version.GRAPH_API.value)
# What a browser sends as `Origin`: a scheme, a host and maybe a port; no path, not even "/".
ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[^/\s:\[\]]+)(:\d{1,5})?")


class SettingsError(RuntimeError):
    """Start-up configuration is incomplete or invalid."""


# The environment first, then the repo root's .env. An empty value counts as unset, as
# `make check-env` counts it: .env.example's empty `WHATSAPP_APP_SECRET=` must not hide the same
# setting under another name (ALIASES) further down the file.
ENV_SOURCES = SettingsConfigDict(
    env_file=REPO_ROOT / ".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
)

# The hardened WhatsApp gateway's names for our settings (docs/coming-from.md). Ours win where
# both are set in the same place; REDIS_URL stands for both of the two that take a Redis.
ALIASES = {
    "whatsapp_webhook_verify_token": "whatsapp_verify_token",
    "whatsapp_app_secret": "whatsapp_webhook_secret",
    "whatsapp_graph_api_version": "whatsapp_api_version",
    "queue_url": "redis_url",
    "router_rate_limit_url": "redis_url",
}


def aliased(name: str) -> AliasChoices:
    """Our name first (it wins), then the gateway's."""
    return AliasChoices(name, ALIASES[name])


def redis_url_of(queue_url: str) -> str | None:
    """The Redis URL when QUEUE_URL names Redis; None for any other queue."""
    return queue_url if queue_url.startswith(("redis://", "rediss://")) else None


def amqp_url_of(queue_url: str) -> str | None:
    """The RabbitMQ URL when QUEUE_URL names RabbitMQ (AMQP 0-9-1); None for any other queue."""
    return queue_url if queue_url.startswith(("amqp://", "amqps://")) else None


class KeyRingSettings(BaseSettings):
    """Where the key ring that encrypts the stored secrets comes from (app/secrets/)."""

    model_config = ENV_SOURCES

    # Fernet keys, comma-separated: the first encrypts, every one decrypts (a new key goes first,
    # the old ones stay after it until `make rotate-keys` has re-encrypted everything). The same
    # in every router process of a deployment.
    router_encryption_keys: SecretStr | None = None
    # Unset keys: this file's key, made (mode 0600) on first start.
    router_encryption_key_file: Path = DEFAULT_KEY_FILE

    @field_validator("router_encryption_keys", mode="before")
    @classmethod
    def _keys_left_empty_are_unset(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return value if isinstance(value, str) and value.strip() else None

    @field_validator("router_encryption_keys")
    @classmethod
    def _are_fernet_keys(cls, keys: SecretStr | None) -> SecretStr | None:
        if keys is not None:
            try:
                parse_keys(keys.get_secret_value())
            except KeyRingError as exc:
                raise ValueError(str(exc)) from None  # its position, never its value
        return keys


class ToolSettings(KeyRingSettings):
    """What the command-line tools (rotation, seeding, migrations) need: no WhatsApp secrets."""

    database_url: str = DEFAULT_DATABASE_URL


class Settings(KeyRingSettings):
    model_config = ENV_SOURCES

    whatsapp_phone_number_id: str = Field(min_length=1)
    whatsapp_access_token: SecretStr
    whatsapp_webhook_verify_token: SecretStr = Field(
        validation_alias=aliased("whatsapp_webhook_verify_token")
    )
    # Required; None only when ROUTER_ALLOW_UNSIGNED_WEBHOOKS is on.
    whatsapp_app_secret: SecretStr | None = Field(validation_alias=aliased("whatsapp_app_secret"))
    whatsapp_graph_api_url: AnyHttpUrl = AnyHttpUrl("https://graph.facebook.com")
    # "26.0"; "v26.0", as the Graph API's paths write it, is read as the same.
    whatsapp_graph_api_version: str = Field(
        default=DEFAULT_GRAPH_API_VERSION,
        validation_alias=aliased("whatsapp_graph_api_version"),
    )
    whatsapp_send_timeout_seconds: float = Field(default=15.0, gt=0)

    # Outbound messages per second per phone number (Meta's default throughput is 80).
    whatsapp_messages_per_second: int = Field(default=80, ge=1, le=1000)

    server_base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8001")
    server_timeout_seconds: float = Field(default=10.0, gt=0)
    # An `llm` agent's chat completion: models take longer than the Server.
    router_llm_timeout_seconds: float = Field(default=30.0, gt=0)
    # The chat-completions API of an `llm` agent whose config names no base_url, and its key
    # (sent to that API only, never to an agent's own base_url).
    openai_base_url: AnyHttpUrl = AnyHttpUrl("https://api.openai.com/v1")
    openai_api_key: SecretStr | None = None

    # The store and the queue. Embedded defaults: a SQLite file and an in-process queue.
    database_url: str = DEFAULT_DATABASE_URL
    queue_url: str = Field(default="memory://", validation_alias=aliased("queue_url"))
    # RabbitMQ only: the queue (and its exchange) this deployment's jobs go through, so that
    # deployments sharing one RabbitMQ server keep apart.
    router_queue_name: str = Field(default="whatsapp-router", min_length=1, max_length=200)
    router_migrate_on_start: bool = True
    # false: this process only takes webhooks (and serves the API); worker processes, started with
    # true against the same queue and database, run the jobs. Needs a Redis or RabbitMQ queue.
    router_process_jobs: bool = True
    # Where the per-number send budget is kept: memory:// (per process) or redis://... (shared by
    # every process). Unset: the queue's Redis when the queue is Redis, else memory.
    router_rate_limit_url: str | None = Field(
        default=None, validation_alias=aliased("router_rate_limit_url")
    )

    # Retries of transient failures (the Server, Graph API 5xx/throttling), with backoff and jitter.
    router_retry_max_attempts: int = Field(default=8, ge=1)
    router_retry_max_age_seconds: float = Field(default=600.0, gt=0)
    router_retry_initial_seconds: float = Field(default=0.5, gt=0)
    router_retry_max_seconds: float = Field(default=30.0, gt=0)
    # The Server's circuit breaker: opens after this many failures in a row, half-opens after ttl.
    router_breaker_threshold: int = Field(default=5, ge=1)
    router_breaker_ttl_seconds: float = Field(default=10.0, gt=0)
    # How long a worker owns a message before another may take it over (a crashed worker's work).
    router_lease_seconds: float = Field(default=30.0, gt=0)
    # A reply part whose send a crash interrupted: how long the resumed job waits for a status
    # webhook naming the part (its tracker) before sending it again.
    router_resend_wait_seconds: float = Field(default=20.0, ge=0)
    # How often unfinished work in the store is looked for and queued again.
    router_sweep_seconds: float = Field(default=5.0, gt=0)
    # How often a router process that runs jobs looks for scheduled messages that are due.
    router_scheduler_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # Concurrent jobs per process.
    router_workers: int = Field(default=200, ge=1)
    # How long a process keeps a number's channel (its tenant, its token), a channel's agents and a
    # tenant's ignore rules without reading them again: one edited through another router process
    # is seen by this one after at most this long.
    router_channel_cache_seconds: float = Field(default=10.0, ge=0)
    # How long a process keeps a channel's template list (GET /api/v1/templates) before asking the
    # Graph API again; `?refresh=true` asks at once.
    router_templates_cache_seconds: float = Field(default=300.0, ge=0)

    # The operator's key: the management API for every tenant (and /api/v1/messages, which answers
    # 503 while it is unset). Tenants' own keys work without it.
    router_admin_api_key: SecretStr | None = None

    # Sign-in with an identity provider (OIDC): `Authorization: Bearer <JWT>` is accepted when the
    # three are set, its signature checked against the provider's published keys (JWKS).
    router_oidc_jwks_url: AnyHttpUrl | None = None
    router_oidc_issuer: str | None = None
    router_oidc_audience: str | None = None
    # How long the provider's key set is kept, and how often at most a token naming a key not in
    # it makes us fetch the set again (a rotated key).
    router_oidc_jwks_cache_seconds: float = Field(default=300.0, gt=0)
    router_oidc_jwks_cooldown_seconds: float = Field(default=30.0, ge=0)
    # A valid token whose subject is no member anywhere becomes a `viewer` of this tenant, on no
    # number, at its first request (name and verified email from its claims). Unset: only
    # invited members sign in.
    router_oidc_auto_provision_tenant_id: int | None = Field(default=None, ge=1)
    # The inbox page's sign-in with the provider: its public client (authorization code with
    # PKCE, redirect URI `<router>/inbox`) and the scopes it asks for. Unset: API keys only.
    router_oidc_client_id: str | None = None
    router_oidc_scope: str = "openid profile email"

    # Browser apps on other origins allowed to call the API (CORS): comma-separated or a JSON
    # list, `*` for any. None by default.
    router_cors_origins: Annotated[list[str], NoDecode] = []

    # GET /metrics (Prometheus). Off: no such route, and the instruments record nothing.
    router_metrics_enabled: bool = True
    # When set, /metrics asks for `Authorization: Bearer <token>`.
    router_metrics_token: SecretStr | None = None
    # How long the queue's depth and age read for a scrape are reused by the next scrapes.
    router_metrics_cache_seconds: float = Field(default=5.0, ge=0)
    # How often a process that runs jobs renews its row in `workers` (the monitoring API's list).
    router_heartbeat_seconds: float = Field(default=10.0, gt=0, le=30)

    # Live events (GET /api/v1/events, /api/v1/ws): how long they are kept for a subscriber that
    # reconnects to be replayed what it missed (at least an hour; a day by default).
    router_events_retention_seconds: float = Field(default=86400.0, ge=3600)
    # Events held for one subscriber that does not keep up before its stream is cut off.
    router_events_queue_size: int = Field(default=1000, ge=10)
    # Signs the short-lived tickets a browser opens the streams with; the same in every router
    # process. Unset: derived from WHATSAPP_APP_SECRET (else WHATSAPP_WEBHOOK_VERIFY_TOKEN).
    router_events_ticket_secret: SecretStr | None = None

    # Traces (OpenTelemetry, app/observability/tracing.py): on when an OTLP/HTTP endpoint is set,
    # the collector's base URL (`/v1/traces` is added) or the traces URL itself. The other standard
    # OTEL_* variables (headers, sampler, batch sizes, resource attributes) are read by the SDK.
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_sdk_disabled: bool = False
    otel_service_name: str = "router"

    # Media (app/media/): the files of image, video, audio, document and sticker messages. Kept
    # in a local directory (created at start), or in an S3-compatible store when its URL is set;
    # the bucket and the credentials are then required, the region optional.
    router_media_dir: Path = DEFAULT_MEDIA_DIR
    router_media_s3_url: AnyHttpUrl | None = None
    router_media_s3_bucket: str | None = None
    router_media_s3_access_key_id: SecretStr | None = None
    router_media_s3_secret_access_key: SecretStr | None = None
    router_media_s3_region: str = "us-east-1"
    # How long one Graph API media call (the URL lookup, the download, the upload) may take.
    router_media_timeout_seconds: float = Field(default=120.0, gt=0)

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

    @field_validator("openai_base_url", "openai_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        # Left empty in .env: the default, not a URL or a key that is "".
        if isinstance(value, SecretStr):
            value = value.get_secret_value() or None
        if value in ("", None):
            return cls.model_fields[info.field_name or ""].default
        return value

    @field_validator("whatsapp_graph_api_version")
    @classmethod
    def _version_without_v(cls, version: str) -> str:
        # The path adds the "v" itself (graph_api_base_url): "v19.0" would become "vv19.0".
        return version[1:] if version[:1] in ("v", "V") else version

    @field_validator("queue_url")
    @classmethod
    def _known_queue(cls, url: str) -> str:
        if url != "memory://" and redis_url_of(url) is None and amqp_url_of(url) is None:
            # The scheme only: the rest of the URL may hold a password.
            raise ValueError(
                "must be memory://, redis://... (rediss://) or amqp://... (amqps://), "
                f"not {url.split(':')[0]}://"
            )
        return url

    @field_validator("router_cors_origins", mode="before")
    @classmethod
    def _origins_from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("starts with [ but is not a JSON list of origins") from None
        return [origin.strip() for origin in value.split(",") if origin.strip()]

    @field_validator("router_cors_origins")
    @classmethod
    def _are_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                # A browser's Origin never ends in "/" and has no path: such an entry would
                # silently match nothing.
                raise ValueError(
                    f"{origin!r} is not an origin: a scheme, a host and an optional port, no "
                    "path and no trailing slash (https://admin.example.com, "
                    "http://127.0.0.1:5173), or *"
                )
        return origins

    @field_validator("router_rate_limit_url")
    @classmethod
    def _known_rate_limit_store(cls, url: str | None) -> str | None:
        if not url:
            return None  # left empty in .env: the default
        if url != "memory://" and redis_url_of(url) is None:
            raise ValueError(
                f"must be memory:// or redis://... (rediss://), not {url.split(':')[0]}://"
            )
        return url

    @model_validator(mode="after")
    def _jobs_need_a_shared_queue(self) -> "Settings":
        if not self.router_process_jobs and self.queue_url == "memory://":
            raise ValueError(
                "ROUTER_PROCESS_JOBS=false needs a queue shared with worker processes "
                "(QUEUE_URL=redis://... or amqp://...): the in-process queue would never run "
                "its jobs"
            )
        return self

    @model_validator(mode="after")
    def _media_store_is_complete(self) -> "Settings":
        if self.router_media_s3_url is None:
            return self
        needed = {
            "ROUTER_MEDIA_S3_BUCKET": self.router_media_s3_bucket,
            "ROUTER_MEDIA_S3_ACCESS_KEY_ID": self.router_media_s3_access_key_id,
            "ROUTER_MEDIA_S3_SECRET_ACCESS_KEY": self.router_media_s3_secret_access_key,
        }
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise ValueError(
                f"ROUTER_MEDIA_S3_URL (media kept in an S3-compatible store) needs "
                f"{', '.join(missing)}"
            )
        return self

    @model_validator(mode="after")
    def _oidc_is_all_or_nothing(self) -> "Settings":
        oidc = {
            "ROUTER_OIDC_JWKS_URL": self.router_oidc_jwks_url,
            "ROUTER_OIDC_ISSUER": self.router_oidc_issuer,
            "ROUTER_OIDC_AUDIENCE": self.router_oidc_audience,
        }
        missing = [name for name, value in oidc.items() if not value]
        if missing and len(missing) < len(oidc):
            raise ValueError(
                f"OIDC needs ROUTER_OIDC_JWKS_URL, ROUTER_OIDC_ISSUER and ROUTER_OIDC_AUDIENCE "
                f"together: {', '.join(missing)} is not set"
            )
        if self.router_oidc_auto_provision_tenant_id is not None and missing:
            raise ValueError(
                "ROUTER_OIDC_AUTO_PROVISION_TENANT_ID (members made at their first sign-in) needs "
                "ROUTER_OIDC_JWKS_URL, ROUTER_OIDC_ISSUER and ROUTER_OIDC_AUDIENCE"
            )
        if self.router_oidc_client_id and missing:
            raise ValueError(
                "ROUTER_OIDC_CLIENT_ID (the inbox page's sign-in) needs ROUTER_OIDC_JWKS_URL, "
                "ROUTER_OIDC_ISSUER and ROUTER_OIDC_AUDIENCE"
            )
        return self

    @property
    def rate_limit_url(self) -> str:
        """ROUTER_RATE_LIMIT_URL, else the queue's Redis, else memory://."""
        return self.router_rate_limit_url or redis_url_of(self.queue_url) or "memory://"

    @property
    def graph_api_base_url(self) -> str:
        return f"{str(self.whatsapp_graph_api_url).rstrip('/')}/v{self.whatsapp_graph_api_version}"


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one readable start-up error."""
    try:
        return Settings()
    except ValidationError as exc:
        raise _readable(exc) from None


def tool_settings() -> ToolSettings:
    """DATABASE_URL and the key ring's settings, for tools that need no WhatsApp secrets."""
    try:
        return ToolSettings()
    except ValidationError as exc:
        raise _readable(exc) from None


def _readable(exc: ValidationError) -> SettingsError:
    """pydantic's report as one readable start-up error, naming settings, never values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = "_".join(str(part) for part in error["loc"])
        name = field.upper()
        reason = "is not set" if error["type"] == "missing" else error["msg"]
        if error["type"] == "missing" and field in ALIASES:
            reason = f"is not set (nor {ALIASES[field].upper()}, its other name)"
        problems.append(f"{name} {reason}" if name else reason)
        if name == "WHATSAPP_APP_SECRET":
            problems.append(
                "the app secret checks webhook signatures (ROUTER_ALLOW_UNSIGNED_WEBHOOKS=true "
                "turns the check off, for local development only)"
            )
    return SettingsError(
        "The router cannot start: "
        + "; ".join(problems)
        + ". Set them in the environment or in .env at the repo root (see .env.example)."
    )


def database_url_from_environment() -> str:
    """DATABASE_URL alone, for tools (migrations) that need no WhatsApp secrets."""

    class _Database(BaseSettings):
        model_config = ENV_SOURCES
        database_url: str = DEFAULT_DATABASE_URL

    return _Database().database_url
