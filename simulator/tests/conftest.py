from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.main import create_app
from app.settings import get_settings
from tests.receiver import Receiver, receiver_app, serve

TOKEN = "test-token"  # noqa: S105 - a test value
APP_SECRET = "test-app-secret"  # noqa: S105
VERIFY_TOKEN = "test-verify-token"  # noqa: S105
PHONE_ID = "1122334455667"
SEND_PATH = f"/v26.0/{PHONE_ID}/messages"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# A second business number, for the tests that configure one (`SIMULATOR_BUSINESSES`).
SECOND_TOKEN = "second-test-token"  # noqa: S105
SECOND = {
    "phone_number_id": "2233445566778",
    "display_phone_number": "15550002000",
    "access_token": SECOND_TOKEN,
    "waba_id": "2345678909876543210",
    "name": "Second Business",
}
SECOND_SEND_PATH = f"/v26.0/{SECOND['phone_number_id']}/messages"
SECOND_AUTH = {"Authorization": f"Bearer {SECOND_TOKEN}"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(verify_token=VERIFY_TOKEN)
    async with serve(receiver_app(receiver)) as base_url:
        receiver.url = f"{base_url}/webhook"
        yield receiver


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Iterator[None]:
    env = {
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "SIMULATOR_WEBHOOK_URL": receiver.url,
        "SIMULATOR_SENT_DELAY_MS": "10",
        "SIMULATOR_DELIVERED_DELAY_MS": "10",
        "SIMULATOR_READ_DELAY_MS": "10",
        "SIMULATOR_WEBHOOK_ATTEMPTS": "4",
        "SIMULATOR_WEBHOOK_BACKOFF_MS": "10",
        "SIMULATOR_WEBHOOK_BACKOFF_MAX_MS": "50",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def client(settings_env: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://simulator"
        ) as client,
    ):
        yield client


async def make_user(client: httpx.AsyncClient, **fields: object) -> dict[str, Any]:
    response = await client.post("/sim/users", json={"name": "Test User", **fields})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def user_writes(client: httpx.AsyncClient, wa_id: str, **fields: object) -> dict[str, Any]:
    response = await client.post(f"/sim/users/{wa_id}/messages", json={"text": "hi", **fields})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
