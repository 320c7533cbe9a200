"""The inbox page's sign-in with the identity provider (OIDC), in headless Chromium against a Router
process configured with a provider that runs here (tests/e2e/oidc_provider.py).

The page goes to the provider, comes back with a code, trades it (with its PKCE verifier) for the ID
token and acts as the member whose subject it carries: who it is, the live event stream, and a
customer's message arriving in the list without a reload. A refused sign-in says why.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ..support import Service, free_port, service
from .browser import ARTIFACTS, chromium, require_chromium
from .oidc_provider import Provider, serving

require_chromium()

from playwright.async_api import expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PHONE_ID = "6677889900112"
APP_SECRET = "e2e-oidc-app-secret-5e1a"  # noqa: S105 - test values, made up here
ADMIN_KEY = "e2e-oidc-admin-key-0b7c"
CLIENT_ID = "inbox-e2e"
SUBJECT = "idp|support-agent-3"
CUSTOMER = "15550006001"


@dataclass
class SignedInRouter:
    router: Service
    provider: Provider


@pytest.fixture(scope="module")
def oidc_router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedInRouter]:
    logs = tmp_path_factory.mktemp("e2e-oidc-logs")
    nowhere = f"http://127.0.0.1:{free_port()}"  # no Server, no Graph API: nothing is sent here
    with serving(CLIENT_ID, SUBJECT) as provider:
        env = {
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "WHATSAPP_ACCESS_TOKEN": "e2e-oidc-access-token",
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "e2e-oidc-verify-token",
            "WHATSAPP_GRAPH_API_URL": nowhere,
            "SERVER_BASE_URL": nowhere,
            "DATABASE_URL": f"sqlite+aiosqlite:///{logs / 'router.db'}",
            "QUEUE_URL": "memory://",
            "ROUTER_MIGRATE_ON_START": "true",
            "ROUTER_ADMIN_API_KEY": ADMIN_KEY,
            "ROUTER_OIDC_JWKS_URL": provider.jwks_url,
            "ROUTER_OIDC_ISSUER": provider.url,
            "ROUTER_OIDC_AUDIENCE": CLIENT_ID,
            "ROUTER_OIDC_CLIENT_ID": CLIENT_ID,
            "LOG_FORMAT": "json",
        }
        with service("router", env, logs, port=free_port()) as router:
            member = httpx.post(
                f"{router.url}/api/v1/members",
                headers={"X-API-Key": ADMIN_KEY},
                json={"name": "Support Agent 3", "role": "agent", "oidc_subject": SUBJECT},
                timeout=10,
            )
            assert member.status_code == 201, member.text
            yield SignedInRouter(router, provider)


def customer_writes(router: Service, text: str) -> None:
    """A signed webhook, as Meta sends it, straight to the Router."""
    message = {
        "from": CUSTOMER,
        "id": f"wamid.e2e-oidc-{time.time_ns()}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550199000", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Signed-in Customer"}, "wa_id": CUSTOMER}],
        "messages": [message],
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "100200300", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{router.url}/webhook",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


async def test_an_agent_signs_in_with_the_identity_provider(oidc_router: SignedInRouter) -> None:
    router, provider = oidc_router.router, oidc_router.provider
    provider.refuse = False
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1200, "height": 700})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{router.url}/inbox")
        button = page.locator("#signin-oidc")
        await expect(button).to_be_enabled()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "e2e-inbox-oidc-signin.png"))
        await button.click()

        # Back from the provider: signed in as the member its subject names, the code gone
        # from the address bar, the event stream open with a ticket the token asked for.
        await expect(page.locator("#me-name")).to_have_text("Support Agent 3")
        await expect(page.locator("#me-sub")).to_contain_text("agent")
        await expect(page.locator("#live")).to_have_text("live")
        assert page.url == f"{router.url}/inbox"
        assert provider.tokens_issued == 1
        assert provider.token_errors == []

        await page.click("#filter-all")  # a new conversation is the bot's, not yet the agent's
        await expect(page.locator("#list-empty")).to_be_visible()
        customer_writes(router, "Is my order on its way?")
        item = page.locator(".conv-item", has_text="Is my order on its way?")
        await expect(item).to_be_visible(timeout=5_000)
        await expect(item).to_contain_text("Signed-in Customer")

        await page.screenshot(path=str(ARTIFACTS / "e2e-inbox-oidc.png"))

        # Signed in with a token, the tab keeps it: a reload needs no second trip.
        await page.reload()
        await expect(page.locator("#me-name")).to_have_text("Support Agent 3")
        assert provider.tokens_issued == 1
        assert errors == []
    assert "e2e-oidc-admin-key" not in router.logs()


async def test_a_refused_sign_in_says_why(oidc_router: SignedInRouter) -> None:
    router, provider = oidc_router.router, oidc_router.provider
    provider.refuse = True
    issued = provider.tokens_issued
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{router.url}/inbox")
        await page.locator("#signin-oidc").click()
        error = page.locator("#signin-error")
        await expect(error).to_contain_text("access_denied")
        await expect(error).to_contain_text("the person said no")
        await expect(page.locator("#signin")).to_be_visible()
        assert page.url == f"{router.url}/inbox"
        assert provider.tokens_issued == issued
