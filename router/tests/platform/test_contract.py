"""The OpenAPI says exactly what the platform's API accepts and answers: a request its schema allows
is not refused for a reason the schema hides, one it refuses is not taken, and every answer is one
the OpenAPI declares. (tests/test_api_schema.py fuzzes all of it; these are the cases it found.)"""

from app.auth.roles import Role

from .conftest import Platform, World


async def test_a_key_with_a_bearer_token_beside_it_is_refused(
    platform: Platform, world: World
) -> None:
    both = await platform.call(
        "GET",
        "/api/v1/members",
        world.keys[Role.OWNER],
        headers={"Authorization": "Bearer not-a-token"},
    )

    assert both.status_code == 401
    assert "one credential" in both.json()["error"]["message"]
