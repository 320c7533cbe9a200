"""The chat page, driven in headless Chromium against a real Simulator and a stand-in Router."""

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
from tests.conftest import AUTH, SEND_PATH
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

from playwright.async_api import async_playwright, expect  # noqa: E402

pytestmark = pytest.mark.browser


class StandInRouter:
    """Does what the Router does with a text: mark it read with typing, then send a reply."""

    def __init__(self) -> None:
        self.simulator_url = ""
        self.tasks: set[asyncio.Task[None]] = set()

    async def on_body(self, raw: bytes) -> None:
        for entry in json.loads(raw)["entry"]:
            for change in entry["changes"]:
                for message in change["value"].get("messages", []):
                    if message["type"] == "text":
                        task = asyncio.create_task(self.reply(message))
                        self.tasks.add(task)
                        task.add_done_callback(self.tasks.discard)

    async def reply(self, message: dict[str, Any]) -> None:
        async with httpx.AsyncClient(base_url=self.simulator_url, headers=AUTH) as client:
            read = {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": message["id"],
                "typing_indicator": {"type": "text"},
            }
            (await client.post(SEND_PATH, json=read)).raise_for_status()
            await asyncio.sleep(0.3)
            text = message["text"]["body"]
            send = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": message["from"],
                "type": "text",
                "text": {"body": f"I received your message: '{text}'", "preview_url": False},
            }
            (await client.post(SEND_PATH, json=send)).raise_for_status()


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


async def test_chat_page_shows_the_reply_with_ticks(running: str) -> None:
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

            await page.fill("#new-name", "Test User")
            await page.fill("#new-phone", "15550001234")
            await page.select_option("#new-shape", "bsuid")
            await page.click("#create")
            await expect(page.locator("#head-name")).to_have_text("Test User")

            await page.fill("#composer-input", "Hello bot")
            await page.press("#composer-input", "Enter")

            mine = page.locator(".msg.me", has_text="Hello bot")
            reply = page.locator(".msg.bot", has_text="I received your message: 'Hello bot'")
            await expect(reply).to_be_visible(timeout=10_000)
            await expect(mine.locator(".ticks")).to_have_attribute("data-status", "read")
            await expect(reply.locator(".ticks")).to_have_attribute(
                "data-status", "read", timeout=10_000
            )
            await expect(page.locator("#chats li", has_text="Test User")).to_be_visible()

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT))
            assert errors == []
        finally:
            await browser.close()
