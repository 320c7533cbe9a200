import pytest

from ..conftest import VERIFY_TOKEN, RouterUnderTest


async def test_handshake_echoes_the_challenge(router: RouterUnderTest) -> None:
    response = await router.client.get(
        "/webhook",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )

    assert response.status_code == 200
    assert response.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub_mode": "subscribe", "hub_verify_token": VERIFY_TOKEN, "hub_challenge": "1"},
        {},
    ],
)
async def test_handshake_refuses_anything_else_with_403(
    router: RouterUnderTest, params: dict[str, str]
) -> None:
    response = await router.client.get("/webhook", params=params)

    assert response.status_code == 403
    assert "1" not in response.text.split('"message"')[0]
    assert response.json()["error"]["code"] == "verification_failed"
