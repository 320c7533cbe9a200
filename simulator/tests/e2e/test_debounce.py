"""Burst debounce on the chat page, answered by the real Router and Server: three messages sent
within the channel's `debounce_ms` get one reply, which answers all three and quotes the last.

Its screenshot is saved to `artifacts/e2e-debounce.png`.
"""

import re
from typing import Any

import httpx
import pytest

from ..support import wait_until_sync
from .browser import ARTIFACTS, chromium, require_chromium
from .conftest import ADMIN_KEY, System

require_chromium()

from playwright.async_api import expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NUMBER = "5566778899001"
TOKEN = "e2e-burst-number-token-3c9d"  # noqa: S105 - a test value, made up here
WINDOW_MS = 2500
USER = "15550009123"
BURST = ("I'd like to book a table", "for four people", "tomorrow at 8?")


def api(system: System, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{system.router.url}{path}", headers={"X-API-Key": key}, timeout=10, **kwargs
    )


def debounced_number(system: System) -> None:
    """A business number of its own, a channel of a tenant of its own, with burst debounce."""
    business = {
        "phone_number_id": NUMBER,
        "display_phone_number": "1555" + NUMBER[-7:],
        "access_token": TOKEN,
        "name": "Bistro",
    }
    assert system.sim.post("/sim/businesses", json=business).status_code == 201
    tenant = api(system, "POST", "/api/v1/tenants", ADMIN_KEY, json={"name": "Bistro"}).json()
    owner_key = api(
        system,
        "POST",
        f"/api/v1/tenants/{tenant['id']}/api-keys",
        ADMIN_KEY,
        json={"name": "setup", "role": "owner"},
    ).json()["key"]
    channel = api(
        system,
        "POST",
        "/api/v1/channels",
        owner_key,
        json={
            "type": "whatsapp",
            "name": "Bistro",
            "phone_number_id": NUMBER,
            "access_token": TOKEN,
        },
    )
    assert channel.status_code == 201, channel.text
    # As the README shows it: debounce is switched on with a PATCH.
    patched = api(
        system,
        "PATCH",
        f"/api/v1/channels/{channel.json()['id']}",
        owner_key,
        json={"debounce_ms": WINDOW_MS},
    )
    assert patched.json()["debounce_ms"] == WINDOW_MS, patched.text


async def test_a_burst_of_three_gets_one_reply_quoting_the_last(system: System) -> None:
    debounced_number(system)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1100, "height": 600})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(system.simulator.url + "/")
        await expect(page.locator("#live")).to_have_text("live")
        await page.click(f".business-option[data-phone-number-id='{NUMBER}']")
        await page.fill("#new-name", "Burst User")
        await page.fill("#new-phone", USER)
        await page.click("#create")
        await expect(page.locator("#head-name")).to_have_text("Burst User")

        for text in BURST:
            await page.fill("#composer-input", text)
            await page.press("#composer-input", "Enter")
            await expect(page.locator(".msg.me", has_text=text)).to_be_visible()

        reply = page.locator(".msg.bot")
        await expect(reply).to_have_count(1, timeout=15_000)
        # The Server was asked once, with the three texts in order, one a line.
        await expect(reply).to_contain_text(re.compile(re.escape("'" + "\n".join(BURST) + "'")))
        await expect(reply.locator(".quote")).to_have_text(BURST[-1])
        await expect(reply.locator(".ticks")).to_have_attribute(
            "data-status", "read", timeout=15_000
        )

        path = ARTIFACTS / "e2e-debounce.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path))
        assert errors == []

    inbound = system.sim.get(
        "/sim/messages", params={"wa_id": USER, "phone_number_id": NUMBER, "direction": "inbound"}
    ).json()
    sent = wait_until_sync(
        lambda: system.sim.get(
            "/sim/messages",
            params={"wa_id": USER, "phone_number_id": NUMBER, "direction": "outbound"},
        ).json(),
        timeout=15,
    )
    assert [m["payload"]["text"]["body"] for m in inbound] == list(BURST)
    [answer] = sent
    assert answer["context_id"] == inbound[-1]["wamid"]
