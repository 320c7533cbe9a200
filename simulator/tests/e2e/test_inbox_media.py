"""The inbox page's media in headless Chromium: photos, stickers, players, documents, places and
contact cards as a conversation shows them, and a file sent from the composer (picked, dropped,
refused by the page or by the API).

The page's real files are served by a stand-in for the Router's API (fake_router_api.py), in the
Router's shapes: the Router's media API is built on another branch, and this checks the page alone.
Once both are merged the same checks can run against the Router (test_inbox_page.py's set-up).
Its screenshot is saved to `artifacts/inbox-media.png` and, when `INBOX_SCREENSHOTS` names a folder
(`make screenshot`: docs/), there.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ..support import in_thread
from .browser import ARTIFACTS, chromium, require_chromium
from .fake_router_api import KEY, SAMPLES, FakeRouter, conversation_fixture, fake_router_app

require_chromium()

from playwright.async_api import Browser, FilePayload, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser
PDF = (SAMPLES / "document.pdf").read_bytes()
PHOTO = (SAMPLES / "photo.jpg").read_bytes()


@pytest.fixture
def fake() -> FakeRouter:
    return conversation_fixture()


@pytest.fixture
def router_url(fake: FakeRouter) -> Iterator[str]:
    with in_thread(fake_router_app(fake)) as url:
        yield url
        fake.stopping = True  # the event stream ends, so the server can


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def open_conversation(browser: Browser, router_url: str, errors: list[str]) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(router_url + "/inbox")
    await page.fill("#signin-key", KEY)
    await page.click("#signin-submit")
    await expect(page.locator("#live")).to_have_text("live")
    await page.locator(".conv-item", has_text="Customer 1").click()
    await expect(page.locator("#conv-name")).to_have_text("Customer 1")
    return page


async def loaded(page: Page, selector: str) -> None:
    """The image has arrived and decoded: the API served it for the page's ticket."""
    image = page.locator(selector)
    await expect(image).to_be_visible()
    await page.wait_for_function(
        "(el) => el.complete && el.naturalWidth > 0", arg=await image.element_handle()
    )


async def test_a_conversations_media_is_drawn_each_as_it_is(
    browser: Browser, router_url: str, fake: FakeRouter
) -> None:
    errors: list[str] = []
    page = await open_conversation(browser, router_url, errors)

    photo = page.locator(".msg .media-image").first
    await loaded(page, ".msg .media-image img")
    await expect(photo.locator(".caption")).to_have_text("The box, as it arrived")
    await loaded(page, ".msg .media-sticker img")
    src = await page.locator(".msg .media-image img").first.get_attribute("src")
    assert src is not None
    assert src.startswith("/api/v1/messages/2/media?ticket=wrt_")

    ticket = src.split("ticket=")[1]
    audio = page.locator(".msg .media-audio audio")
    await expect(audio).to_have_attribute("src", f"/api/v1/messages/4/media?ticket={ticket}")
    video = page.locator(".msg .media-video video")
    await expect(video).to_have_count(1)
    await expect(page.locator(".msg .media-video .caption")).to_have_text("Opening it")
    # The players read the bytes' metadata: the API answered them too.
    await page.wait_for_function("document.querySelector('.media-audio audio').readyState >= 1")
    await page.wait_for_function("document.querySelector('.media-video video').readyState >= 1")

    chip = page.locator(".msg .doc-chip")
    await expect(chip.locator(".doc-name")).to_have_text("invoice-1042.pdf")
    await expect(chip.locator(".doc-size")).to_have_text("PDF · 15 KB")
    async with page.expect_download() as downloading:
        await chip.click()
    download = await downloading.value
    assert download.suggested_filename == "invoice-1042.pdf"
    saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert saved == PDF

    pending = page.locator(".msg .media[data-state=pending]")
    await expect(pending).to_contain_text("Photo on its way from WhatsApp")
    await expect(pending.locator(".spinner")).to_be_visible()
    failed = page.locator(".msg .media[data-state=failed]")
    await expect(failed).to_contain_text(
        "The document could not be fetched: WhatsApp answered 404: the media URL had expired"
    )
    await expect(failed).to_contain_text("receipt.pdf")

    place = page.locator(".msg .place-card")
    await expect(place.locator(".place-name")).to_have_text("Pickup point")
    await expect(place.locator(".place-coords")).to_have_text("32.08530, 34.78177")
    href = await place.get_attribute("href")
    assert href == (
        "https://www.openstreetmap.org/?mlat=32.0853&mlon=34.781768#map=16/32.0853/34.781768"
    )
    card = page.locator(".msg .shared-contact")
    await expect(card.locator(".shared-name")).to_have_text("Warehouse desk")
    await expect(card.locator(".shared-phone")).to_have_text(["+1 555 0100", "+1 555 0101"])
    assert "/api/v1/messages/7/media" not in fake.media_requests  # pending: never fetched

    # The picture: the whole conversation, from its first message to the agent's answer.
    await page.set_viewport_size({"width": 1280, "height": 1640})
    await page.mouse.move(0, 0)
    for folder in {ARTIFACTS, *screenshot_folder()}:
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(folder / "inbox-media.png"))
    assert errors == []


async def test_the_composer_sends_a_file_with_its_caption_and_says_why_one_is_refused(
    browser: Browser, router_url: str, fake: FakeRouter
) -> None:
    errors: list[str] = []
    page = await open_conversation(browser, router_url, errors)
    picker = page.locator("#attach-input")

    # A type WhatsApp does not take: refused by the page, nothing sent.
    await picker.set_input_files(
        FilePayload(name="animation.gif", mimeType="image/gif", buffer=b"GIF89a")
    )
    await expect(page.locator("#attach-error")).to_contain_text(
        "image/gif files cannot be sent on WhatsApp"
    )
    await expect(page.locator("#attachment")).to_be_hidden()
    assert fake.uploads == []

    # A type it takes, whose bytes the API refuses: the API's reason is shown, the file kept.
    await picker.set_input_files(
        FilePayload(name="not-really.pdf", mimeType="application/pdf", buffer=b"hello")
    )
    await expect(page.locator("#attachment-name")).to_have_text("not-really.pdf")
    await expect(page.locator("#attach-error")).to_be_hidden()
    await page.click("#send")
    await expect(page.locator("#attach-error")).to_have_text(
        "the file's bytes are not a application/pdf file: WhatsApp would refuse it"
    )
    await expect(page.locator("#attachment")).to_be_visible()
    await page.click("#attachment-remove")
    await expect(page.locator("#attachment")).to_be_hidden()

    # A photo dropped on the conversation, sent with the text as its caption.
    await drop_file(page, "parcel.jpg", "image/jpeg", PHOTO)
    await expect(page.locator("#attachment-name")).to_have_text("parcel.jpg")
    await expect(page.locator("#attachment-size")).to_have_text("3 KB")
    await page.fill("#composer-input", "This is the replacement")
    await page.press("#composer-input", "Enter")
    sent = page.locator(".msg.agent .media-image", has_text="This is the replacement")
    await expect(sent).to_be_visible()
    await loaded(page, ".msg.agent .media-image img")
    await expect(page.locator("#attachment")).to_be_hidden()
    await expect(page.locator("#composer-input")).to_have_value("")
    await expect(page.locator("#upload-progress")).to_be_hidden()
    last = fake.uploads[-1]
    assert (last["filename"], last["type"], last["caption"]) == (
        "parcel.jpg",
        "image/jpeg",
        "This is the replacement",
    )
    assert last["data"] == PHOTO
    assert errors == []


async def drop_file(page: Page, name: str, mime_type: str, data: bytes) -> None:
    """Drags a file over the open conversation and drops it there, as a file manager does."""
    await page.evaluate(
        """([name, type, bytes]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
          const area = document.getElementById("conversation");
          for (const kind of ["dragover", "drop"]) {
            area.dispatchEvent(
              new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true }),
            );
          }
        }""",
        [name, mime_type, list(data)],
    )


def screenshot_folder() -> list[Path]:
    target = os.environ.get("INBOX_SCREENSHOTS")
    return [Path(target).resolve()] if target else []
