"""Templates end to end, through real processes: the Router lists the number's templates from the
Simulator's Graph API, refuses a text to a number that never wrote (409) and sends a template to
it, which the Simulator checks against its list and the chat page shows as WhatsApp does; a
template the number does not have ends failed with Meta's 132001, visible in the Router's API.
"""

from typing import Any

import httpx
import pytest

from ..support import wait_until_sync
from .browser import ARTIFACTS, MISSING, WHY, chromium
from .conftest import ADMIN_KEY, PHONE_ID, System
from .test_platform import api, write

pytestmark = pytest.mark.e2e


WABA = "1234567890987654321"  # the Simulator's default number's (SIMULATOR_WABA_ID's default)
NEVER_WROTE = "15550007001"
ORDER = {
    "name": "order_update",
    "language": "en_US",
    "components": [
        {"type": "header", "parameters": [{"type": "text", "text": "#1042"}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "there"},
                {"type": "text", "text": "#1042"},
                {"type": "text", "text": "Friday"},
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def channel_id(system: System) -> int:
    """The env's number, whose WABA the Router learns from its first webhook."""
    system.new_user("15550007000", name="Early Bird")
    write(system, "15550007000", "hello")
    channels = api(system, "GET", "/api/v1/channels", ADMIN_KEY).json()["items"]
    [channel] = [c for c in channels if c["phone_number_id"] == PHONE_ID]
    assert wait_until_sync(
        lambda: (
            api(system, "GET", f"/api/v1/channels/{channel['id']}", ADMIN_KEY).json()["waba_id"]
            == WABA
        ),
        timeout=15,
    )
    return int(channel["id"])


def send(system: System, **body: Any) -> httpx.Response:
    return api(system, "POST", "/api/v1/messages", ADMIN_KEY, json=body)


def settled(system: System, message_id: int, *statuses: str) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        message: dict[str, Any] = api(
            system, "GET", f"/api/v1/messages/{message_id}", ADMIN_KEY
        ).json()
        return message if message["status"] in statuses else None

    found = wait_until_sync(look, timeout=15)
    assert found is not None, api(system, "GET", f"/api/v1/messages/{message_id}", ADMIN_KEY).text
    return found


def test_the_router_lists_the_numbers_templates(system: System, channel_id: int) -> None:
    response = api(system, "GET", f"/api/v1/templates?channel_id={channel_id}", ADMIN_KEY)

    assert response.status_code == 200, response.text
    listed = {(t["name"], t["language"]) for t in response.json()["items"]}
    assert {("hello_world", "en_US"), ("order_update", "en_US")} <= listed
    assert response.json()["waba_id"] == WABA


def test_a_template_goes_out_when_the_window_is_closed_and_a_text_is_refused(
    system: System, channel_id: int
) -> None:
    text = send(system, channel_id=channel_id, to=NEVER_WROTE, text="Your order shipped")
    template = send(system, channel_id=channel_id, to=NEVER_WROTE, template=ORDER)

    assert text.status_code == 409, text.text
    assert "a template is needed" in text.json()["error"]["message"]
    assert template.status_code == 202, template.text
    ended = settled(system, template.json()["id"], "delivered", "read")
    assert ended["template"] == ORDER
    [sent] = system.replies_to(NEVER_WROTE)
    assert sent["type"] == "template"
    assert sent["rendered"]["header"] == "Order #1042"
    assert sent["rendered"]["body"] == (
        "Hi there, your order #1042 has shipped and should arrive on Friday."
    )
    # No text ever reached the Simulator for this number: the 409 came before anything was sent.
    assert [m["type"] for m in system.replies_to(NEVER_WROTE)] == ["template"]


def test_a_template_the_number_lacks_ends_failed_with_132001(
    system: System, channel_id: int
) -> None:
    response = send(
        system,
        channel_id=channel_id,
        to="15550007002",
        template={"name": "spring_sale", "language": "en_US"},
    )

    assert response.status_code == 202, response.text
    failed = settled(system, response.json()["id"], "failed")
    assert failed["error_code"] == 132001
    assert "Template name does not exist" in failed["error_title"]
    listed = api(system, "GET", "/api/v1/messages?status=failed", ADMIN_KEY).json()["items"]
    assert response.json()["id"] in [m["id"] for m in listed]


@pytest.mark.browser
@pytest.mark.skipif(MISSING, reason=WHY)
async def test_the_chat_page_shows_the_template_as_whatsapp_does(
    system: System, channel_id: int
) -> None:
    from playwright.async_api import expect

    to = "15550007003"
    response = send(system, channel_id=channel_id, to=to, template=ORDER)
    assert response.status_code == 202, response.text
    hello = send(
        system, channel_id=channel_id, to=to, template={"name": "hello_world", "language": "en_US"}
    )
    settled(system, hello.json()["id"], "delivered", "read")

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1100, "height": 640})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(system.simulator.url + "/")
        await expect(page.locator("#live")).to_have_text("live")
        await page.click(f'#chats li[data-wa-id="{to}"]')

        order = page.locator(".msg.bot.template", has_text="Order #1042")
        await expect(order).to_be_visible(timeout=15_000)
        await expect(order.locator(".template-header")).to_have_text("Order #1042")
        await expect(order.locator(".template-body")).to_have_text(
            "Hi there, your order #1042 has shipped and should arrive on Friday."
        )
        await expect(order.locator(".template-footer")).to_have_text(
            "Reply STOP to stop order updates"
        )
        await expect(order.locator(".template-buttons button")).to_have_text(
            ["Track order", "Talk to us"]
        )
        greeting = page.locator(".msg.bot.template", has_text="Hello World")
        await expect(greeting.locator(".ticks")).to_have_attribute(
            "data-status", "read", timeout=15_000
        )

        path = ARTIFACTS / "e2e-template.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path))
        assert errors == []
