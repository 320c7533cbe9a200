from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings, SettingsError, load_settings

from ..backends import fresh_redis
from ..conftest import make_settings, running_router

REQUIRED = [
    "WHATSAPP_PHONE_NUMBER_ID",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_WEBHOOK_VERIFY_TOKEN",
    "WHATSAPP_APP_SECRET",
]
# The hardened WhatsApp gateway's names, and the settings they stand for.
GATEWAY_NAMES = {
    "WHATSAPP_VERIFY_TOKEN": "WHATSAPP_WEBHOOK_VERIFY_TOKEN",
    "WHATSAPP_WEBHOOK_SECRET": "WHATSAPP_APP_SECRET",
    "WHATSAPP_API_VERSION": "WHATSAPP_GRAPH_API_VERSION",
    "REDIS_URL": "QUEUE_URL and ROUTER_RATE_LIMIT_URL",
}
READ_HERE = [
    "ROUTER_ALLOW_UNSIGNED_WEBHOOKS",
    "WHATSAPP_GRAPH_API_VERSION",
    "QUEUE_URL",
    "ROUTER_RATE_LIMIT_URL",
    "DATABASE_URL",
    *GATEWAY_NAMES,
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*REQUIRED, *READ_HERE]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    return monkeypatch


def test_missing_settings_are_named_in_one_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings()

    message = str(caught.value)
    for name in [
        "WHATSAPP_PHONE_NUMBER_ID",
        "WHATSAPP_ACCESS_TOKEN",
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN",
    ]:
        assert name in message


def test_the_app_secret_is_required(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WHATSAPP_PHONE_NUMBER_ID", "1")
    clean_env.setenv("WHATSAPP_ACCESS_TOKEN", "token-value-1")
    clean_env.setenv("WHATSAPP_WEBHOOK_VERIFY_TOKEN", "verify-value-1")

    with pytest.raises(SettingsError, match="WHATSAPP_APP_SECRET") as caught:
        load_settings()

    assert "token-value-1" not in str(caught.value)
    assert "verify-value-1" not in str(caught.value)

    clean_env.setenv("ROUTER_ALLOW_UNSIGNED_WEBHOOKS", "true")
    assert load_settings().whatsapp_app_secret is None


def test_an_empty_app_secret_counts_as_missing() -> None:
    with pytest.raises(ValidationError, match="whatsapp_app_secret"):
        make_settings(whatsapp_app_secret="")


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = make_settings(whatsapp_access_token="very-secret-token")

    assert "very-secret-token" not in repr(settings)
    assert "very-secret-token" not in str(settings.model_dump())


def test_graph_api_base_url_follows_the_setting() -> None:
    settings = make_settings(
        whatsapp_graph_api_url="http://127.0.0.1:8002/", whatsapp_graph_api_version="25.0"
    )

    assert settings.graph_api_base_url == "http://127.0.0.1:8002/v25.0"


def test_graph_api_url_defaults_to_meta() -> None:
    settings = Settings(
        _env_file=None,
        whatsapp_phone_number_id="1",
        whatsapp_access_token="t",
        whatsapp_webhook_verify_token="v",
        whatsapp_app_secret="s",
    )

    assert settings.graph_api_base_url.startswith("https://graph.facebook.com/v")


def test_the_verify_token_is_masked_in_access_logs() -> None:
    import logging

    from app.core.logs import RedactQuerySecrets

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1:5",
            "GET",
            "/webhook?hub.mode=subscribe&hub.verify_token=s3cr3t&hub.challenge=9",
            "1.1",
            200,
        ),
        None,
    )

    RedactQuerySecrets().filter(record)

    line = record.getMessage()
    assert "s3cr3t" not in line
    assert "hub.verify_token=***&hub.challenge=9" in line


def test_an_events_ticket_is_masked_in_access_logs() -> None:
    import logging

    from app.core.logs import RedactQuerySecrets

    path = "/api/v1/events?ticket=wrt_eyJ0Ijo.c2lnbmF0dXJl&last_event_id=3"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", path, "1.1", 200),
        None,
    )

    RedactQuerySecrets().filter(record)

    line = record.getMessage()
    assert "wrt_" not in line
    assert "ticket=***&last_event_id=3" in line


def test_an_unknown_queue_is_a_start_up_error_naming_the_three_known(
    clean_env: pytest.MonkeyPatch,
) -> None:
    for name in REQUIRED:
        clean_env.setenv(name, "1")
    clean_env.setenv("QUEUE_URL", "kafka://user:queue-password@127.0.0.1")

    with pytest.raises(SettingsError) as caught:
        load_settings()

    message = str(caught.value)
    assert "QUEUE_URL" in message
    assert "must be memory://, redis://... (rediss://) or amqp://... (amqps://)" in message
    assert "not kafka://" in message
    assert "queue-password" not in message


@pytest.mark.parametrize(
    "queue_url",
    ["memory://", "redis://127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672/", "amqps://h/"],
)
def test_known_queues_are_accepted(queue_url: str) -> None:
    assert make_settings(queue_url=queue_url).queue_url == queue_url


@pytest.mark.parametrize(
    ("queue_url", "rate_limit_url", "kept_in"),
    [
        ("memory://", None, "memory://"),
        ("redis://127.0.0.1:6379/3", None, "redis://127.0.0.1:6379/3"),
        ("amqp://127.0.0.1:5672/", None, "memory://"),
        ("amqp://127.0.0.1:5672/", "", "memory://"),
        ("amqp://127.0.0.1:5672/", "redis://127.0.0.1:6379/4", "redis://127.0.0.1:6379/4"),
        ("redis://127.0.0.1:6379/3", "memory://", "memory://"),
    ],
)
def test_the_rate_limit_is_kept_in_the_queues_redis_unless_named(
    queue_url: str, rate_limit_url: str | None, kept_in: str
) -> None:
    settings = make_settings(queue_url=queue_url, router_rate_limit_url=rate_limit_url)

    assert settings.rate_limit_url == kept_in


def test_an_unknown_rate_limit_store_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match="must be memory:// or redis://"):
        make_settings(router_rate_limit_url="amqp://127.0.0.1:5672/")


def test_the_llm_endpoint_is_openais_unless_set_and_empty_means_unset(
    clean_env: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "WHATSAPP_PHONE_NUMBER_ID": "1",
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "v",
        "WHATSAPP_APP_SECRET": "s",
        "OPENAI_BASE_URL": "",
        "OPENAI_API_KEY": "",
    }.items():
        clean_env.setenv(name, value)

    unset = load_settings()
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    clean_env.setenv("OPENAI_API_KEY", "sk-from-env-3b9")
    set_ = load_settings()

    assert (str(unset.openai_base_url), unset.openai_api_key) == ("https://api.openai.com/v1", None)
    assert str(set_.openai_base_url) == "http://127.0.0.1:11434/v1"
    assert set_.openai_api_key is not None
    assert set_.openai_api_key.get_secret_value() == "sk-from-env-3b9"
    assert "sk-from-env-3b9" not in repr(set_)


def gateway_env(env: pytest.MonkeyPatch, **names: str) -> None:
    """The gateway's .env, as its own examples write it: its names only."""
    values = {
        "WHATSAPP_PHONE_NUMBER_ID": "1122334455667",
        "WHATSAPP_ACCESS_TOKEN": "gateway-access-token",
        "WHATSAPP_VERIFY_TOKEN": "gateway-verify-token",
        "WHATSAPP_WEBHOOK_SECRET": "gateway-webhook-secret",
        "WHATSAPP_API_VERSION": "v19.0",
        **names,
    }
    for name, value in values.items():
        env.setenv(name, value)


async def test_the_router_starts_with_the_gateways_names_alone(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    redis_url = await fresh_redis()
    gateway_env(clean_env, REDIS_URL=redis_url)
    clean_env.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'router.db'}")
    clean_env.setenv("ROUTER_ADMIN_API_KEY", "gateway-operator-key")

    settings = load_settings()
    async with running_router(settings) as router:
        handshake = await router.client.get(
            "/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "gateway-verify-token",
                "hub.challenge": "4815",
            },
        )
        store = await router.client.get(
            "/rate-limit/health", headers={"X-API-Key": "gateway-operator-key"}
        )
        queue_kind = router.state.queue.kind

    assert settings.whatsapp_app_secret is not None
    assert settings.whatsapp_app_secret.get_secret_value() == "gateway-webhook-secret"
    assert settings.graph_api_base_url == "https://graph.facebook.com/v19.0"
    assert (handshake.status_code, handshake.text) == (200, "4815")
    # REDIS_URL is the queue and the rate limit's store.
    assert (settings.queue_url, settings.rate_limit_url) == (redis_url, redis_url)
    assert queue_kind == "redis"
    assert store.json()["store"] == "redis"


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_our_names_win_over_the_gateways(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    both = {
        "WHATSAPP_PHONE_NUMBER_ID": "1",
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "ours-verify",
        "WHATSAPP_VERIFY_TOKEN": "theirs-verify",
        "WHATSAPP_APP_SECRET": "ours-secret",
        "WHATSAPP_WEBHOOK_SECRET": "theirs-secret",
        "WHATSAPP_GRAPH_API_VERSION": "25.0",
        "WHATSAPP_API_VERSION": "v19.0",
        "QUEUE_URL": "amqp://127.0.0.1:5672/",
        "ROUTER_RATE_LIMIT_URL": "memory://",
        "REDIS_URL": "redis://127.0.0.1:6379/9",
    }
    if where == "environment":
        for name, value in both.items():
            clean_env.setenv(name, value)
    else:
        env_file = tmp_path / ".env"
        env_file.write_text("".join(f"{name}={value}\n" for name, value in both.items()))
        clean_env.setitem(Settings.model_config, "env_file", env_file)

    settings = load_settings()

    assert settings.whatsapp_webhook_verify_token.get_secret_value() == "ours-verify"
    assert settings.whatsapp_app_secret is not None
    assert settings.whatsapp_app_secret.get_secret_value() == "ours-secret"
    assert settings.whatsapp_graph_api_version == "25.0"
    assert settings.queue_url == "amqp://127.0.0.1:5672/"
    assert settings.rate_limit_url == "memory://"


def test_an_empty_value_of_ours_does_not_hide_the_gateways(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # .env.example's empty lines, filled in under the gateway's names below them.
    env_file = tmp_path / ".env"
    env_file.write_text(
        "WHATSAPP_PHONE_NUMBER_ID=1\nWHATSAPP_ACCESS_TOKEN=t\n"
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN=\nWHATSAPP_APP_SECRET=\n"
        "WHATSAPP_VERIFY_TOKEN=theirs-verify\nWHATSAPP_WEBHOOK_SECRET=theirs-secret\n"
    )
    clean_env.setitem(Settings.model_config, "env_file", env_file)

    settings = load_settings()

    assert settings.whatsapp_webhook_verify_token.get_secret_value() == "theirs-verify"
    assert settings.whatsapp_app_secret is not None
    assert settings.whatsapp_app_secret.get_secret_value() == "theirs-secret"


@pytest.mark.parametrize("name", ["WHATSAPP_GRAPH_API_VERSION", "WHATSAPP_API_VERSION"])
@pytest.mark.parametrize("version", ["19.0", "v19.0", "V19.0"])
def test_the_graph_api_version_is_read_with_or_without_its_v(
    clean_env: pytest.MonkeyPatch, name: str, version: str
) -> None:
    gateway_env(clean_env)
    clean_env.delenv("WHATSAPP_API_VERSION")
    clean_env.setenv(name, version)

    settings = load_settings()

    assert settings.whatsapp_graph_api_version == "19.0"
    assert settings.graph_api_base_url == "https://graph.facebook.com/v19.0"


@pytest.mark.parametrize(
    ("ours", "queue_url", "rate_limit_url"),
    [
        ({}, "redis://127.0.0.1:6379/5", "redis://127.0.0.1:6379/5"),
        (
            {"QUEUE_URL": "amqp://127.0.0.1:5672/"},
            "amqp://127.0.0.1:5672/",
            "redis://127.0.0.1:6379/5",
        ),
        ({"ROUTER_RATE_LIMIT_URL": "memory://"}, "redis://127.0.0.1:6379/5", "memory://"),
        (
            {"QUEUE_URL": "memory://", "ROUTER_RATE_LIMIT_URL": "memory://"},
            "memory://",
            "memory://",
        ),
    ],
)
def test_redis_url_is_the_queue_and_the_rate_limit_where_ours_are_unset(
    clean_env: pytest.MonkeyPatch, ours: dict[str, str], queue_url: str, rate_limit_url: str
) -> None:
    gateway_env(clean_env, REDIS_URL="redis://127.0.0.1:6379/5", **ours)

    settings = load_settings()

    assert (settings.queue_url, settings.rate_limit_url) == (queue_url, rate_limit_url)


def test_a_missing_setting_is_named_by_our_name_and_the_gateways(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("WHATSAPP_PHONE_NUMBER_ID", "1")
    clean_env.setenv("WHATSAPP_ACCESS_TOKEN", "t")

    with pytest.raises(SettingsError) as caught:
        load_settings()

    message = str(caught.value)
    assert "WHATSAPP_WEBHOOK_VERIFY_TOKEN is not set (nor WHATSAPP_VERIFY_TOKEN" in message
    assert "WHATSAPP_APP_SECRET is not set (nor WHATSAPP_WEBHOOK_SECRET" in message
