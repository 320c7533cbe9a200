"""`/inbox`: the agents' page is served as it is (ES modules, each as JavaScript), and draws every
icon itself (no emoji font).

How it behaves in a browser is simulator/tests/e2e/test_inbox_page.py's (the three services as
processes, Chromium)."""

import mimetypes
import re
from pathlib import Path

import httpx
import pytest
import respx

from app.inbox.endpoints import STATIC

from ..conftest import make_settings, running_router

# Pictographs a stock Chromium on Debian has no font for (it draws an empty box): the emoji
# blocks, dingbats and the symbols around them, variation selectors.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


# A module's imports of its siblings (`import { a } from "./api.js";`, over lines too).
IMPORT = re.compile(r'^(?:import|export)\b[^;]*?\bfrom "\./([^"]+)";', re.MULTILINE | re.DOTALL)


def page_modules() -> set[str]:
    """The page's modules: the one index.html loads and every module it imports, transitively."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    todo = re.findall(r'<script type="module" src="/inbox/static/([^"]+)"', html)
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += IMPORT.findall((STATIC / name).read_text(encoding="utf-8"))
    return found


async def test_the_page_and_its_files_are_served(database_url: str) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        page = await router.client.get("/inbox")
        assets = re.findall(r'(?:src|href)="(/inbox/static/[^"]+)"', page.text)
        files = {asset: await router.client.get(asset) for asset in assets}
        slash = await router.client.get("/inbox/")
        missing = await router.client.get("/inbox/static/nothing.js")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    modules = page_modules()
    assert "main.js" in modules
    assert {a.removeprefix("/inbox/static/") for a in assets} == {"inbox.css"} | modules
    for asset, response in files.items():
        assert response.status_code == 200, asset
        kind = "text/css" if asset.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(kind), asset
        # Asked again at each load (a 304 when unchanged): never an old module beside a new one.
        assert response.headers["cache-control"] == "no-cache", asset
    assert slash.status_code == 307
    assert slash.headers["location"] == "/inbox"
    assert missing.status_code == 404


async def test_a_module_is_javascript_whatever_the_host_guesses(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What Python 3.11 guesses on a host with no mime.types (the slim image): the modules are
    # served as text/javascript all the same.
    monkeypatch.setitem(mimetypes.types_map, ".js", "application/javascript")
    assert mimetypes.guess_type("main.js")[0] == "application/javascript"
    async with running_router(make_settings(database_url=database_url)) as router:
        module = await router.client.get("/inbox/static/main.js")

    assert module.status_code == 200
    assert module.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_an_unchanged_module_is_not_sent_again(database_url: str) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        first = await router.client.get("/inbox/static/state.js")
        again = await router.client.get(
            "/inbox/static/state.js", headers={"If-None-Match": first.headers["etag"]}
        )

    assert first.status_code == 200
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["cache-control"] == "no-cache"


def test_no_file_of_the_page_needs_an_emoji_font() -> None:
    files = sorted(Path(STATIC).iterdir())
    # Every module is one the page loads: no dead file is left behind.
    assert {f.name for f in files} == {"index.html", "inbox.css"} | page_modules()
    for file in files:
        found = EMOJI.findall(file.read_text(encoding="utf-8"))
        assert found == [], f"{file.name} holds {found}: draw it as an inline SVG"


# --- /inbox/config: the identity provider's sign-in, read from its discovery document ------------

ISSUER = "https://id.test/"
DISCOVERY = "https://id.test/.well-known/openid-configuration"
OIDC = {
    "router_oidc_jwks_url": "https://id.test/jwks",
    "router_oidc_issuer": ISSUER,
    "router_oidc_audience": "inbox",
    "router_oidc_client_id": "inbox",
}


def discovery(issuer: str = ISSUER) -> dict[str, str]:
    return {
        "issuer": issuer,
        "authorization_endpoint": "https://id.test/authorize",
        "token_endpoint": "https://id.test/oauth/token",
        "jwks_uri": "https://id.test/jwks",
    }


async def test_without_a_client_id_the_page_signs_in_with_keys_only(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    # OIDC for the API alone: the page is not told of a provider, and nothing is fetched.
    api_only = {k: v for k, v in OIDC.items() if k != "router_oidc_client_id"}
    async with running_router(make_settings(database_url=database_url, **api_only)) as router:
        response = await router.client.get("/inbox/config")

    assert response.status_code == 200
    assert response.json() == {"oidc": None, "oidc_error": None}
    assert [c.request.url.host for c in mock_http.calls] == ["router"]  # no discovery


async def test_the_page_is_told_the_providers_endpoints_once(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    route = mock_http.get(DISCOVERY).respond(200, json=discovery())
    async with running_router(make_settings(database_url=database_url, **OIDC)) as router:
        first = await router.client.get("/inbox/config")
        second = await router.client.get("/inbox/config")

    assert first.status_code == 200
    assert first.json() == {
        "oidc": {
            "client_id": "inbox",
            "authorization_endpoint": "https://id.test/authorize",
            "token_endpoint": "https://id.test/oauth/token",
            "scope": "openid profile email",
            "token": "id_token",  # its audience is the client: the API takes it
            "audience": None,
        },
        "oidc_error": None,
    }
    assert second.json() == first.json()
    assert route.call_count == 1  # kept, not fetched per page load


async def test_an_api_audience_asks_for_an_access_token(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    mock_http.get(DISCOVERY).respond(200, json=discovery())
    settings = make_settings(
        database_url=database_url,
        **OIDC | {"router_oidc_audience": "whatsapp-router", "router_oidc_scope": "openid"},
    )
    async with running_router(settings) as router:
        oidc = (await router.client.get("/inbox/config")).json()["oidc"]

    assert oidc["token"] == "access_token"
    assert oidc["audience"] == "whatsapp-router"
    assert oidc["scope"] == "openid"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(200, json=discovery("https://other.test/")), "not ROUTER_OIDC_ISSUER"),
        (httpx.Response(200, json={"issuer": ISSUER}), "no authorization_endpoint"),
        (httpx.Response(404), "answered 404"),
        (httpx.Response(200, text="<html>"), "not a JSON object"),
        (httpx.ConnectError("refused"), "could not be fetched: ConnectError"),
    ],
)
async def test_a_provider_that_cannot_be_used_is_named_not_offered(
    mock_http: respx.MockRouter,
    database_url: str,
    answer: httpx.Response | Exception,
    reason: str,
) -> None:
    route = mock_http.get(DISCOVERY)
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    async with running_router(make_settings(database_url=database_url, **OIDC)) as router:
        response = await router.client.get("/inbox/config")

    assert response.status_code == 200  # the page still signs in with keys
    assert response.json()["oidc"] is None
    assert reason in response.json()["oidc_error"]


def test_a_client_id_needs_the_api_to_take_tokens() -> None:
    with pytest.raises(ValueError, match="ROUTER_OIDC_CLIENT_ID"):
        make_settings(router_oidc_client_id="inbox")
