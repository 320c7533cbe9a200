"""ROUTER_CORS_ORIGINS: browser apps on the origins named may call the API; none by default."""

import pytest
from pydantic import ValidationError

from app.settings import Settings, load_settings

from ..conftest import ADMIN_KEY, make_settings, running_router
from .test_settings import REQUIRED

APP = "https://admin.example.com"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "x-api-key, content-type, x-tenant-id",
}


async def test_no_origin_is_allowed_by_default(database_url: str) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        preflight = await router.client.options("/api/v1/channels", headers=PREFLIGHT)
        read = await router.client.get(
            "/api/v1/channels", headers={"Origin": APP, "X-API-Key": ADMIN_KEY}
        )

    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 405  # no CORS: the API has no OPTIONS of its own
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers


async def test_a_named_origin_gets_its_preflight_and_reads_the_answer(database_url: str) -> None:
    settings = make_settings(database_url=database_url, router_cors_origins=[APP])
    async with running_router(settings) as router:
        preflight = await router.client.options("/api/v1/channels", headers=PREFLIGHT)
        read = await router.client.get(
            "/api/v1/channels", headers={"Origin": APP, "X-API-Key": ADMIN_KEY}
        )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"x-api-key", "content-type", "x-tenant-id", "authorization"} <= {
        h.strip() for h in allowed.split(",")
    }
    assert "POST" in preflight.headers["access-control-allow-methods"]
    # Keys travel in headers, never cookies: a page gets no credentials.
    assert "access-control-allow-credentials" not in preflight.headers
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == APP
    assert read.headers["access-control-expose-headers"].lower() == "x-request-id"


async def test_another_origin_is_refused(database_url: str) -> None:
    settings = make_settings(database_url=database_url, router_cors_origins=[APP])
    async with running_router(settings) as router:
        preflight = await router.client.options(
            "/api/v1/channels", headers=PREFLIGHT | {"Origin": "https://evil.example"}
        )
        read = await router.client.get(
            "/api/v1/channels", headers={"Origin": "https://evil.example", "X-API-Key": ADMIN_KEY}
        )

    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in read.headers


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("", []),
        ("https://a.example", ["https://a.example"]),
        (
            " https://a.example , http://127.0.0.1:5173,",
            ["https://a.example", "http://127.0.0.1:5173"],
        ),
        ('["https://a.example", "http://[::1]:8080"]', ["https://a.example", "http://[::1]:8080"]),
        ("*", ["*"]),
    ],
)
def test_origins_are_read_comma_separated_or_as_a_json_list(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    for name in REQUIRED:
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("ROUTER_CORS_ORIGINS", value)

    assert load_settings().router_cors_origins == origins


@pytest.mark.parametrize(
    "origin", ["https://a.example/", "https://a.example/app", "a.example", "ftp://a.example"]
)
def test_what_is_not_an_origin_is_a_start_up_error(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        make_settings(router_cors_origins=origin)


def test_a_broken_json_list_is_a_start_up_error() -> None:
    with pytest.raises(ValidationError, match="not a JSON list of origins"):
        make_settings(router_cors_origins='["https://a.example"')


async def test_the_webhook_still_wants_its_signature_with_cors_on(database_url: str) -> None:
    settings = make_settings(database_url=database_url, router_cors_origins=[APP])
    async with running_router(settings) as router:
        response = await router.client.post("/webhook", content=b"{}", headers={"Origin": APP})

    # Meta is no browser: the webhook still wants its signature, with CORS on or off.
    assert response.status_code == 401
