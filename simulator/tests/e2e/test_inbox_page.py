"""The Router's inbox page (`/inbox`) in headless Chromium beside the Simulator's chat page: the
handover loop a person lives through, with the three services as real processes.

A customer writes on the chat page (the phone) and the message is in the inbox within a second,
with no reload; the agent takes the conversation over and writes, and the phone shows it; the
customer writes again and the bot stays silent; the agent gives it back and the bot answers the
next message. Its two screenshots are saved to `artifacts/` and, when `INBOX_SCREENSHOTS` names a
folder (`make screenshot`: docs/), there as `inbox-handover-phone.png` and
`inbox-handover-inbox.png`.
"""

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support import wait_until_sync
from .browser import ARTIFACTS, chromium, require_chromium
from .conftest import ADMIN_KEY, PHONE_ID, System

require_chromium()

from playwright.async_api import Browser, Page, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# "Within a second": from the phone's tick saying the Router took the webhook to the inbox showing
# the message, pushed by the event stream.
LIVE_MS = 1_000
SLOW_MS = 15_000  # anything that waits for the Server or the Simulator's status webhooks


@dataclass
class Team:
    """Members of the default tenant (the env's number), each with a key acting as them."""

    agent_id: int
    agent_key: str
    viewer_key: str


def api(system: System, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{system.router.url}{path}", headers={"X-API-Key": key}, timeout=10, **kwargs
    )


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def team(system: System) -> Team:
    def member_with_key(name: str, role: str) -> tuple[int, str]:
        member = created(
            api(system, "POST", "/api/v1/members", ADMIN_KEY, json={"name": name, "role": role})
        )
        key = created(
            api(
                system,
                "POST",
                "/api/v1/api-keys",
                ADMIN_KEY,
                json={"name": f"{name}'s key", "role": role, "member_id": member["id"]},
            )
        )["key"]
        return member["id"], key

    # The env's number, named as a team would name it (the pictures show it).
    channels = api(system, "GET", "/api/v1/channels", ADMIN_KEY).json()["items"]
    [number] = [c for c in channels if c["phone_number_id"] == PHONE_ID]
    renamed = api(
        system, "PATCH", f"/api/v1/channels/{number['id']}", ADMIN_KEY, json={"name": "Support"}
    )
    assert renamed.status_code == 200, renamed.text
    agent_id, agent_key = member_with_key("Support Agent 1", "agent")
    _, viewer_key = member_with_key("Viewer", "viewer")
    return Team(agent_id, agent_key, viewer_key)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def sign_in(browser: Browser, system: System, key: str, errors: list[str]) -> Page:
    inbox = await browser.new_page(viewport={"width": 1280, "height": 720})
    inbox.on("pageerror", lambda error: errors.append(str(error)))
    await inbox.goto(system.router.url + "/inbox")
    await inbox.fill("#signin-key", key)
    await inbox.click("#signin-submit")
    await expect(inbox.locator("#live")).to_have_text("live", timeout=SLOW_MS)
    await inbox.click("#filter-all")
    await expect(inbox.locator("#filter-all")).to_have_attribute("aria-selected", "true")
    return inbox


def reply_to(text: str) -> re.Pattern[str]:
    return re.compile(
        rf"I received your message: '{re.escape(text)}' and here is a random number: \d+"
    )


async def customer_writes(phone: Page, text: str) -> None:
    """The customer sends `text`; back once the Router has taken the webhook (its 200)."""
    await phone.fill("#composer-input", text)
    await phone.press("#composer-input", "Enter")
    mine = phone.locator(".msg.me", has_text=text)
    await expect(mine.locator(".ticks")).to_have_attribute("data-status", "delivered")


def stored_status(system: System, text: str) -> str | None:
    """The Router's status for the customer's message `text` (its final one once routed)."""
    page = api(system, "GET", "/api/v1/messages", ADMIN_KEY, params={"limit": 500})
    assert page.status_code == 200, page.text
    for item in page.json()["items"]:
        if item["direction"] == "inbound" and item["text"] == text:
            status: str = item["status"]
            return status
    return None


async def test_the_handover_loop_between_the_phone_and_the_inbox(
    system: System, team: Team, browser: Browser
) -> None:
    errors: list[str] = []
    inbox = await sign_in(browser, system, team.agent_key, errors)
    await expect(inbox.locator("#me-name")).to_have_text("Support Agent 1")

    phone = await browser.new_page(viewport={"width": 900, "height": 720})
    phone.on("pageerror", lambda error: errors.append(str(error)))
    await phone.goto(system.simulator.url + "/")
    await expect(phone.locator("#live")).to_have_text("live")
    await phone.fill("#new-name", "Customer 1")
    await phone.fill("#new-phone", "15550009201")
    await phone.click("#create")
    await expect(phone.locator("#head-name")).to_have_text("Customer 1")

    # 1. The customer writes: the conversation is in the list within a second, no reload.
    first = "Hi, is my order on its way?"
    await customer_writes(phone, first)
    item = inbox.locator(".conv-item", has_text="Customer 1")
    await expect(item).to_be_visible(timeout=LIVE_MS)
    await expect(phone.locator(".msg.bot", has_text=reply_to(first))).to_be_visible(timeout=SLOW_MS)
    await item.click()
    await expect(inbox.locator(".msg.contact", has_text=first)).to_be_visible()
    await expect(inbox.locator(".msg.ai", has_text=reply_to(first))).to_be_visible()
    await expect(inbox.locator("#conv-window")).to_contain_text("24-hour window")

    # 2. The agent takes it over and writes: the phone shows the reply, its ticks turn blue.
    await inbox.click("#take-over")
    await expect(inbox.locator("#conv-owner")).to_have_text("You")
    await expect(item.locator(".owner-chip")).to_have_text("You")
    answer = "Hello, this is support. Your order left the warehouse this morning."
    await inbox.fill("#composer-input", answer)
    await inbox.press("#composer-input", "Enter")
    await expect(phone.locator(".msg.bot", has_text=answer)).to_be_visible(timeout=SLOW_MS)
    mine = inbox.locator(".msg.agent", has_text=answer)
    await expect(mine.locator(".author")).to_contain_text("Support Agent 1")
    await expect(mine.locator(".ticks")).to_have_attribute("data-status", "read", timeout=SLOW_MS)

    # 3. The customer writes again: live in the inbox, kept for the agent, the bot silent.
    second = "Great, thanks! Can it come on Friday?"
    await customer_writes(phone, second)
    held = inbox.locator(".msg.contact", has_text=second)
    await expect(held).to_be_visible(timeout=LIVE_MS)
    await expect(held).to_have_attribute("data-status", "handed_over", timeout=SLOW_MS)
    assert wait_until_sync(lambda: stored_status(system, second) == "handed_over", timeout=15)
    # The Router decided (handed_over is final): nothing answers the message, then or later.
    assert not any(reply_to(second).search(t) for t in system.reply_texts("15550009201"))

    # 4. Given back to the bot: it answers the customer's next message.
    await inbox.click("#give-back")
    await expect(inbox.locator("#conv-owner")).to_have_text("Bot")
    third = "And do you ship abroad?"
    await customer_writes(phone, third)
    await expect(phone.locator(".msg.bot", has_text=reply_to(third))).to_be_visible(timeout=SLOW_MS)
    await expect(inbox.locator(".msg.ai", has_text=reply_to(third))).to_be_visible(timeout=SLOW_MS)
    assert not any(reply_to(second).search(t) for t in system.reply_texts("15550009201"))

    # The pictures: the toast of the last action gone, the pointer off the buttons.
    await expect(inbox.locator("#toast")).to_be_hidden(timeout=SLOW_MS)
    await inbox.mouse.move(0, 0)
    for name, page in (("phone", phone), ("inbox", inbox)):
        for folder in {ARTIFACTS, *screenshot_folder()}:
            folder.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(folder / f"inbox-handover-{name}.png"))
    assert errors == []


async def test_a_viewer_sees_the_conversation_and_every_control_says_why_it_is_off(
    system: System, team: Team, browser: Browser
) -> None:
    system.new_user("15550009202", name="Customer 2")
    sent = system.sim.post(
        "/sim/users/15550009202/messages", json={"type": "text", "text": "Hello, anyone there?"}
    )
    assert sent.status_code == 200, sent.text
    errors: list[str] = []
    inbox = await sign_in(browser, system, team.viewer_key, errors)
    await expect(inbox.locator("#me-sub")).to_contain_text("viewer")
    await expect(inbox.locator("#filter-mine")).to_be_enabled()  # the viewer is a member
    await inbox.locator(".conv-item", has_text="Customer 2").click()
    await expect(inbox.locator(".msg.contact", has_text="Hello, anyone there?")).to_be_visible()

    notice = inbox.locator("#readonly-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("viewer")
    await expect(inbox.locator("#composer-input")).to_be_disabled()
    await expect(inbox.locator("#send")).to_be_disabled()
    await expect(inbox.locator("#composer-reason")).to_have_text("Viewers can read but not write.")
    for control in ("#take-over", "#transfer", "#close-conv", "#block"):
        button = inbox.locator(control)
        await expect(button).to_be_disabled()
        await expect(button).to_have_attribute("title", re.compile(r"\S"))
    await expect(inbox.locator("#block-reason")).to_contain_text("admin")
    assert errors == []


async def test_a_handover_or_a_block_made_elsewhere_shows_at_once(
    system: System, team: Team, browser: Browser
) -> None:
    system.new_user("15550009203", name="Customer 3")
    sent = system.sim.post(
        "/sim/users/15550009203/messages", json={"type": "text", "text": "Are you open today?"}
    )
    assert sent.status_code == 200, sent.text
    contact = api(system, "GET", "/api/v1/contacts", ADMIN_KEY, params={"q": "15550009203"})
    [customer] = contact.json()["items"]
    [conversation] = api(
        system, "GET", "/api/v1/conversations", ADMIN_KEY, params={"contact_id": customer["id"]}
    ).json()["items"]
    errors: list[str] = []
    inbox = await sign_in(browser, system, team.agent_key, errors)
    item = inbox.locator(".conv-item", has_text="Customer 3")
    await item.click()
    await expect(inbox.locator("#conv-owner")).to_have_text("Bot")

    # Someone else (the operator's key here) hands it to the agent: the page follows, no reload.
    transferred = api(
        system,
        "POST",
        f"/api/v1/conversations/{conversation['id']}/transfer",
        ADMIN_KEY,
        json={"new_owner_id": team.agent_id},
    )
    assert transferred.status_code == 200, transferred.text
    await expect(inbox.locator("#conv-owner")).to_have_text("You", timeout=LIVE_MS)
    await expect(item.locator(".owner-chip")).to_have_text("You", timeout=LIVE_MS)
    await inbox.click("#filter-mine")
    await expect(item).to_be_visible()

    blocked = api(system, "POST", f"/api/v1/contacts/{customer['id']}/block", ADMIN_KEY)
    assert blocked.status_code == 200, blocked.text
    await expect(inbox.locator("#contact-blocked")).to_be_visible(timeout=LIVE_MS)
    await expect(inbox.locator("#composer-input")).to_be_disabled()
    await expect(inbox.locator("#composer-reason")).to_contain_text("blocked")
    unblocked = api(system, "DELETE", f"/api/v1/contacts/{customer['id']}/block", ADMIN_KEY)
    assert unblocked.status_code == 200, unblocked.text
    await expect(inbox.locator("#composer-input")).to_be_enabled(timeout=LIVE_MS)
    assert errors == []


def screenshot_folder() -> list[Path]:
    target = os.environ.get("INBOX_SCREENSHOTS")
    return [Path(target).resolve()] if target else []
