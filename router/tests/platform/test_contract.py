"""The OpenAPI says exactly what the platform's API accepts and answers: a request its schema allows
is not refused for a reason the schema hides, one it refuses is not taken, and every answer is one
the OpenAPI declares. (tests/test_api_schema.py fuzzes all of it; these are the cases it found.)"""

from app.auth.roles import Role

from ..conftest import ADMIN_KEY
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


async def test_x_tenant_id_is_the_digits_of_an_id(platform: Platform, world: World) -> None:
    answers = {
        value: await platform.call(
            "GET", "/api/v1/channels", ADMIN_KEY, headers={"X-Tenant-ID": value}
        )
        for value in (str(world.tenant), f"+{world.tenant}", f"0{world.tenant}", "1_0")
    }

    assert {value: a.status_code for value, a in answers.items()} == {
        str(world.tenant): 200,
        f"+{world.tenant}": 422,
        f"0{world.tenant}": 422,
        "1_0": 422,
    }
