import pytest
from pydantic import ValidationError

from app.settings import Settings, SettingsError, load_settings

from .conftest import make_settings

REQUIRED = [
    "WHATSAPP_PHONE_NUMBER_ID",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_WEBHOOK_VERIFY_TOKEN",
    "WHATSAPP_APP_SECRET",
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*REQUIRED, "ROUTER_ALLOW_UNSIGNED_WEBHOOKS"]:
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

    from app.logs import RedactQuerySecrets

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

    from app.logs import RedactQuerySecrets

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
