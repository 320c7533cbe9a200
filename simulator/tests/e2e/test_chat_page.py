"""The chat page in headless Chromium, answered by the real Router and Server.

Its screenshot is `docs/chat.png` (`make screenshot`): saved to `artifacts/e2e-chat.png`, and also
to `SIMULATOR_SCREENSHOT` when that is set.
"""

import os
import re
from pathlib import Path

import pytest

from .browser import ARTIFACTS, chromium, require_chromium
from .conftest import System

require_chromium()

from playwright.async_api import expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def reply_to(text: str) -> re.Pattern[str]:
    return re.compile(
        rf"I received your message: '{re.escape(text)}' and here is a random number: \d+"
    )


async def test_the_chat_page_shows_the_bots_reply(system: System) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1100, "height": 560})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(system.simulator.url + "/")
        await expect(page.locator("#live")).to_have_text("live")

        await page.fill("#new-name", "Demo User")
        await page.fill("#new-phone", "15550009001")
        await page.select_option("#new-shape", "bsuid")
        await page.click("#create")
        await expect(page.locator("#head-name")).to_have_text("Demo User")

        for text in ("Hello bot", "Testing, one two three"):
            await page.fill("#composer-input", text)
            await page.press("#composer-input", "Enter")
            reply = page.locator(".msg.bot", has_text=reply_to(text))
            await expect(reply).to_be_visible(timeout=15_000)
            await expect(reply.locator(".ticks")).to_have_attribute(
                "data-status", "read", timeout=15_000
            )
            # The Router accepted it (2xx); it does not mark messages read (yet).
            mine = page.locator(".msg.me", has_text=text)
            await expect(mine.locator(".ticks")).to_have_attribute("data-status", "delivered")
        await expect(page.locator(".msg.bot")).to_have_count(2)

        for path in {ARTIFACTS / "e2e-chat.png", *screenshot_target()}:
            path.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(path))
        assert errors == []


def screenshot_target() -> list[Path]:
    target = os.environ.get("SIMULATOR_SCREENSHOT")
    return [Path(target).resolve()] if target else []
