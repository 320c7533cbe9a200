"""The chat page's media, in headless Chromium against a real Simulator: the user sends a photo
from the page (its file picker), and it reaches the webhook as Meta delivers one, fetchable with
the number's token; the business's photo, voice note, video and document, uploaded and sent by id
through the Graph API as the Router sends them, show in the chat as a phone shows them.

Its screenshot is saved to `artifacts/chat-media.png` and, when `SIMULATOR_SCREENSHOTS` names a
folder (docs/), there.
"""

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.media import SAMPLES
from tests.conftest import AUTH, PHONE_ID
from tests.receiver import Receiver, serve

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(
        "needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium); "
        "CI=true makes this a failure instead",
        allow_module_level=True,
    )

from playwright.async_api import FilePayload, Page, async_playwright, expect  # noqa: E402

pytestmark = pytest.mark.browser

CUSTOMER = "15550001234"
PHOTO = (SAMPLES / "photo.jpg").read_bytes()
PDF = (SAMPLES / "document.pdf").read_bytes()


@pytest.fixture
async def simulator_url(settings_env: None) -> AsyncIterator[str]:
    async with serve(create_app()) as url:
        yield url


async def send_as_the_business(
    client: httpx.AsyncClient, kind: str, sample: str, mime_type: str, **fields: str
) -> None:
    """What the Router does with a file: upload it to the number's /media, send it by id."""
    uploaded = await client.post(
        f"/v26.0/{PHONE_ID}/media",
        data={"messaging_product": "whatsapp", "type": mime_type},
        files={"file": (sample, (SAMPLES / sample).read_bytes(), mime_type)},
        headers=AUTH,
    )
    assert uploaded.status_code == 200, uploaded.text
    content = {"id": uploaded.json()["id"], **fields}
    payload = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": kind, kind: content}
    sent = await client.post(f"/v26.0/{PHONE_ID}/messages", json=payload, headers=AUTH)
    assert sent.status_code == 200, sent.text


async def image_loaded(page: Page, selector: str) -> None:
    image = page.locator(selector)
    await expect(image).to_be_visible()
    handle = await image.element_handle()
    await page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=handle)


async def test_media_goes_both_ways_on_the_chat_page(
    simulator_url: str, receiver: Receiver
) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 1130})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(simulator_url + "/")
            await expect(page.locator("#live")).to_have_text("live")
            await page.fill("#new-name", "Customer 1")
            await page.fill("#new-phone", CUSTOMER)
            await page.click("#create")
            await expect(page.locator("#head-name")).to_have_text("Customer 1")

            # The user picks a photo, with a caption typed first.
            await page.fill("#composer-input", "The box came like this")
            await page.locator("#attach-input").set_input_files(
                FilePayload(name="IMG_2041.jpg", mimeType="image/jpeg", buffer=PHOTO)
            )
            mine = page.locator(".msg.me", has_text="The box came like this")
            await expect(mine.locator(".ticks")).to_have_attribute("data-status", "delivered")
            await image_loaded(page, ".msg.me .media-image img")
            await expect(page.locator("#composer-input")).to_have_value("")

            [received] = receiver.received
            message = json.loads(received.body)["entry"][0]["changes"][0]["value"]["messages"][0]
            assert message["type"] == "image"
            assert message["image"]["caption"] == "The box came like this"
            digest = base64.b64encode(hashlib.sha256(PHOTO).digest()).decode()
            assert message["image"]["sha256"] == digest
            async with httpx.AsyncClient(base_url=simulator_url) as client:
                looked_up = await client.get(f"/v26.0/{message['image']['id']}", headers=AUTH)
                url = looked_up.json()["url"]
                assert (await client.get(url, headers=AUTH)).content == PHOTO

                # The business answers with a photo, a voice note, a video and a document.
                await send_as_the_business(
                    client, "image", "photo.jpg", "image/jpeg", caption="Our photo of it"
                )
                await send_as_the_business(client, "audio", "voice.m4a", "audio/mp4")
                await send_as_the_business(client, "video", "video.mp4", "video/mp4")
                await send_as_the_business(
                    client,
                    "document",
                    "document.pdf",
                    "application/pdf",
                    filename="invoice-1042.pdf",
                    caption="Your invoice",
                )

            await image_loaded(page, ".msg.bot .media-image img")
            await expect(page.locator(".msg.bot", has_text="Our photo of it")).to_be_visible()
            audio = page.locator(".msg.bot audio.player-audio")
            await expect(audio).to_have_count(1)
            await page.wait_for_function("document.querySelector('audio.player').readyState >= 1")
            await page.wait_for_function("document.querySelector('video.player').readyState >= 1")
            chip = page.locator(".msg.bot .doc-chip")
            await expect(chip.locator(".doc-name")).to_have_text("invoice-1042.pdf")
            await expect(chip.locator(".doc-size")).to_have_text("application/pdf · 15 KB")
            await expect(page.locator(".msg.bot", has_text="Your invoice")).to_be_visible()
            async with page.expect_download() as downloading:
                await chip.click()
            download = await downloading.value
            assert download.suggested_filename == "invoice-1042.pdf"
            saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
            assert saved == PDF

            await page.mouse.move(0, 0)
            for folder in {ARTIFACTS, *screenshot_folder()}:
                folder.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(folder / "chat-media.png"))
            assert errors == []
        finally:
            await browser.close()


def screenshot_folder() -> list[Path]:
    target = os.environ.get("SIMULATOR_SCREENSHOTS")
    return [Path(target).resolve()] if target else []
