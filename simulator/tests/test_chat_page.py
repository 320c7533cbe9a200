"""The chat page, driven in headless Chromium against a real Simulator and a stand-in Router, with
two business numbers."""

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import get_settings
from tests.conftest import PHONE_ID, SECOND, SECOND_TOKEN, TOKEN
from tests.receiver import Receiver, serve

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCREENSHOT = Path(os.environ.get("SIMULATOR_SCREENSHOT", ARTIFACTS / "chat.png"))

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(
        "needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium); "
        "CI=true makes this a failure instead",
        allow_module_level=True,
    )

from playwright.async_api import Page, async_playwright, expect  # noqa: E402

pytestmark = pytest.mark.browser


SECOND_ID = SECOND["phone_number_id"]
TOKENS = {PHONE_ID: TOKEN, SECOND_ID: SECOND_TOKEN}


class StandInRouter:
    """Does what the Router does with a text: mark it read with typing, then send a reply, from the
    number the text was written to, with that number's token."""

    def __init__(self) -> None:
        self.simulator_url = ""
        self.tasks: set[asyncio.Task[None]] = set()

    async def on_body(self, raw: bytes) -> None:
        for entry in json.loads(raw)["entry"]:
            for change in entry["changes"]:
                number = change["value"]["metadata"]["phone_number_id"]
                for message in change["value"].get("messages", []):
                    if message["type"] == "text":
                        task = asyncio.create_task(self.reply(number, message))
                        self.tasks.add(task)
                        task.add_done_callback(self.tasks.discard)

    async def reply(self, number: str, message: dict[str, Any]) -> None:
        path = f"/v26.0/{number}/messages"
        headers = {"Authorization": f"Bearer {TOKENS[number]}"}
        async with httpx.AsyncClient(base_url=self.simulator_url, headers=headers) as client:
            read = {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": message["id"],
                "typing_indicator": {"type": "text"},
            }
            (await client.post(path, json=read)).raise_for_status()
            await asyncio.sleep(0.3)
            text = message["text"]["body"]
            send = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": message["from"],
                "type": "text",
                "text": {"body": f"I received your message: '{text}'", "preview_url": False},
            }
            (await client.post(path, json=send)).raise_for_status()


@pytest.fixture
def settings_env(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conftest's settings, and a second business number configured beside the default."""
    monkeypatch.setenv("SIMULATOR_BUSINESSES", json.dumps([SECOND]))
    get_settings.cache_clear()


@pytest.fixture
async def running(settings_env: None, receiver: Receiver) -> AsyncIterator[str]:
    router = StandInRouter()
    receiver.on_body = router.on_body
    async with serve(create_app()) as simulator_url:
        router.simulator_url = simulator_url
        async with httpx.AsyncClient(base_url=simulator_url) as client:
            slower = {"sent_delay_ms": 150, "delivered_delay_ms": 250, "read_delay_ms": 400}
            await client.patch("/sim/config", json=slower)
        yield simulator_url
        for task in set(router.tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_chat_page_shows_each_businesss_replies_in_its_own_chat(running: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 760})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(running + "/")
            await expect(page.locator("#live")).to_have_text("live")
            # Drawn inline: an emoji here was a missing glyph on a stock Debian Chromium.
            await expect(page.locator("#empty svg.empty-icon")).to_be_visible()

            await page.fill("#new-name", "Test User")
            await page.fill("#new-phone", "15550001234")
            await page.select_option("#new-shape", "bsuid")
            await page.click("#create")
            await expect(page.locator("#head-name")).to_have_text("Test User")

            businesses = page.locator("#businesses [role=radio]")
            await expect(businesses).to_have_count(2)
            await expect(businesses.nth(0)).to_contain_text("Simulator Business")
            await expect(businesses.nth(0)).to_contain_text("+972123456789")
            await expect(businesses.nth(1)).to_contain_text("Second Business")
            await expect(businesses.nth(1)).to_contain_text("+15550002000")
            await expect(businesses.nth(0)).to_have_attribute("aria-checked", "true")

            await page.fill("#composer-input", "Hello bot")
            await page.press("#composer-input", "Enter")
            await expect_reply(page, "Hello bot")
            await expect(page.locator("#chats li", has_text="Test User")).to_be_visible()

            await businesses.nth(1).click()
            await expect(businesses.nth(1)).to_have_attribute("aria-checked", "true")
            await expect(page.locator("#head-business")).to_contain_text("Second Business")
            await expect(page.locator(".msg")).to_have_count(0)
            await page.fill("#composer-input", "Hello second")
            await page.press("#composer-input", "Enter")
            await expect_reply(page, "Hello second")
            await expect(page.locator(".msg")).to_have_count(2)

            async with httpx.AsyncClient(base_url=running) as client:
                sent = await client.get("/sim/messages", params={"direction": "outbound"})
            assert [(m["phone_number_id"], m["payload"]["body"]) for m in sent.json()] == [
                (PHONE_ID, "I received your message: 'Hello bot'"),
                (SECOND_ID, "I received your message: 'Hello second'"),
            ]

            await businesses.nth(0).click()
            await expect(page.locator(".msg", has_text="Hello bot")).to_have_count(2)
            await expect(page.locator(".msg", has_text="Hello second")).to_have_count(0)

            # A reply from the other number while this one is open waits in its chat, counted.
            async with httpx.AsyncClient(base_url=running) as client:
                written = await client.post(
                    "/sim/users/15550001234/messages",
                    json={"text": "Still there?", "phone_number_id": SECOND_ID},
                )
                written.raise_for_status()
            await expect(businesses.nth(1).locator(".badge")).to_have_text("1", timeout=10_000)
            await expect(page.locator(".msg", has_text="Still there?")).to_have_count(0)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT))

            await businesses.nth(1).click()
            await expect_reply(page, "Still there?")
            await expect(businesses.nth(1).locator(".badge")).to_have_count(0)

            third = {**SECOND, "phone_number_id": "3344556677889", "name": "Third Business"}
            async with httpx.AsyncClient(base_url=running) as client:
                (await client.post("/sim/businesses", json=third)).raise_for_status()
            await expect(businesses).to_have_count(3)
            await expect(businesses.nth(2)).to_contain_text("Third Business")
            assert errors == []
        finally:
            await browser.close()


async def expect_reply(page: Page, text: str) -> None:
    """The text is in the open chat, read by the bot, and its reply arrived and was read."""
    mine = page.locator(".msg.me", has_text=text)
    reply = page.locator(".msg.bot", has_text=f"I received your message: '{text}'")
    await expect(reply).to_be_visible(timeout=10_000)
    await expect(mine.locator(".ticks")).to_have_attribute("data-status", "read")
    await expect(reply.locator(".ticks")).to_have_attribute("data-status", "read", timeout=10_000)
