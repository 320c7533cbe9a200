"""The OpenAPI says exactly what the platform's API accepts and answers: a request its schema allows
is not refused for a reason the schema hides, one it refuses is not taken, and every answer is one
the OpenAPI declares. (tests/test_api_schema.py fuzzes all of it; these are the cases it found.)"""

from typing import Any

import jsonschema_rs
import pytest
from schemathesis.core.jsonschema import FANCY_REGEX_OPTIONS

from app.auth.roles import Role
from app.main import create_app

from ..conftest import ADMIN_KEY, make_settings
from .conftest import Platform, World


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    described: dict[str, Any] = create_app(make_settings()).openapi()
    return described


def component(openapi: dict[str, Any], name: str) -> dict[str, Any]:
    """A schema of the OpenAPI's components, with the others it refers to beside it."""
    return {"$ref": f"#/components/schemas/{name}", "components": openapi["components"]}


def accepts(schema: dict[str, Any], value: Any) -> bool:
    # The validator Schemathesis judges requests with: the same regex dialect.
    return bool(
        jsonschema_rs.validator_for(schema, pattern_options=FANCY_REGEX_OPTIONS).is_valid(value)
    )


def parameter(openapi: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    [found] = [p for p in openapi["paths"][path][method]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = found["schema"]
    return schema


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


async def test_every_cursor_its_schema_allows_is_a_place_in_the_list(
    openapi: dict[str, Any], platform: Platform, world: World
) -> None:
    viewer = world.keys[Role.VIEWER]
    by_id = parameter(openapi, "/api/v1/members", "get", "cursor")
    by_time = parameter(openapi, "/api/v1/conversations", "get", "cursor")

    after_5 = await platform.call("GET", "/api/v1/members", viewer, params={"cursor": "5"})
    before_1970 = await platform.call(
        "GET", "/api/v1/conversations", viewer, params={"cursor": "0_1"}
    )
    empty = await platform.call("GET", "/api/v1/members", viewer, params={"cursor": ""})

    assert accepts(by_id, "5")
    assert accepts(by_time, "0_1")
    assert not accepts(by_id, "")
    assert after_5.json() == {"items": [], "next": None}
    assert before_1970.json() == {"items": [], "next": None}
    assert empty.status_code == 422
