"""The OpenAPI says exactly what the platform's API accepts and answers: a request its schema allows
is not refused for a reason the schema hides, one it refuses is not taken, and every answer is one
the OpenAPI declares. (tests/core/test_api_schema.py fuzzes all of it; these are the cases it
found.)"""

from typing import Any

import jsonschema_rs
import pytest
from schemathesis.core.jsonschema import FANCY_REGEX_OPTIONS

from app.auth.roles import Role

from ..conftest import ADMIN_KEY, openapi_document
from ..world import Platform, World


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    described: dict[str, Any] = openapi_document()
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


async def test_a_patch_field_that_cannot_be_null_is_not_nullable(
    openapi: dict[str, Any], platform: Platform, world: World
) -> None:
    owner = world.keys[Role.OWNER]
    contact = f"/api/v1/contacts/{world.contact.id}"

    blocked_null = await platform.call("PATCH", contact, owner, json={"is_blocked": None})
    email_null = await platform.call("PATCH", contact, owner, json={"email": None})
    role_null = await platform.call(
        "PATCH", f"/api/v1/members/{world.agent.id}", owner, json={"role": None}
    )

    not_nullable: dict[str, dict[str, Any]] = {
        "MemberPatch": {"name": "Support Agent", "role": "agent"},
        "ChannelPatch": {"name": "Sales", "display_phone_number": "+1", "access_token": "t"},
        "ContactPatch": {"is_blocked": True},
    }
    for name, fields in not_nullable.items():
        for field, value in fields.items():
            assert accepts(component(openapi, name), {field: value}), (name, field)
            assert not accepts(component(openapi, name), {field: None}), (name, field)
    # Where null means something (no email), it stays nullable, and does what it says.
    assert accepts(component(openapi, "ContactPatch"), {"email": None})
    assert blocked_null.status_code == 422
    assert role_null.status_code == 422
    assert email_null.status_code == 200
    assert email_null.json()["email"] is None


async def test_a_contact_body_without_an_identifier_is_refused_by_its_schema(
    openapi: dict[str, Any], platform: Platform, world: World
) -> None:
    schema = component(openapi, "ContactIn")

    refused = await platform.call("POST", "/api/v1/contacts", world.keys[Role.ADMIN], json={})

    assert not accepts(schema, {})
    assert not accepts(schema, {"wa_id": None, "name": "Customer"})
    assert accepts(schema, {"user_id": "US.1"})
    assert refused.status_code == 422


async def test_a_name_of_blanks_is_refused_by_its_schema_and_one_with_blanks_around_is_trimmed(
    openapi: dict[str, Any], platform: Platform, world: World
) -> None:
    name = component(openapi, "MemberIn")
    owner = world.keys[Role.OWNER]

    blank = await platform.call(
        "POST", "/api/v1/members", owner, json={"name": " \t\u3000", "role": "viewer"}
    )
    padded = await platform.call(
        "POST", "/api/v1/members", owner, json={"name": "  Member  ", "role": "viewer"}
    )

    assert not accepts(name, {"name": " \t\u3000", "role": "viewer"})
    assert accepts(name, {"name": "  Member  ", "role": "viewer"})
    assert blank.status_code == 422
    assert padded.json()["name"] == "Member"


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


async def test_a_405_names_every_method_the_path_serves(platform: Platform) -> None:
    options = await platform.call("OPTIONS", "/api/v1/channels/1")
    put = await platform.call("PUT", "/api/v1/contacts/1/block")

    assert options.status_code == 405
    assert options.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    assert put.headers["allow"] == "DELETE, POST"


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


async def test_a_body_that_is_not_utf8_is_a_400_in_the_error_shape(
    openapi: dict[str, Any], platform: Platform, world: World
) -> None:
    response = await platform.call(
        "POST",
        "/api/v1/members",
        world.keys[Role.OWNER],
        content=b'{"name": "\xff"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"
    assert "400" in openapi["paths"]["/api/v1/members"]["post"]["responses"]


async def test_numbers_and_booleans_in_a_body_are_json_ones(
    platform: Platform, world: World
) -> None:
    owner = world.keys[Role.OWNER]
    transfer = f"/api/v1/conversations/{world.conversation.id}/transfer"

    as_text = await platform.call(
        "POST",
        "/api/v1/api-keys",
        owner,
        json={"name": "k", "role": "viewer", "member_id": str(world.agent.id)},
    )
    as_number = await platform.call(
        "PATCH", f"/api/v1/contacts/{world.contact.id}", owner, json={"is_blocked": 0}
    )
    # JSON Schema's integer: 2.0 is one.
    with_fraction_zero = await platform.call(
        "POST", transfer, owner, json={"new_owner_id": float(world.agent.id)}
    )

    assert as_text.status_code == 422
    assert as_number.status_code == 422
    assert with_fraction_zero.status_code == 200
    assert with_fraction_zero.json()["owner"]["id"] == world.agent.id


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


async def test_an_access_token_is_visible_ascii(platform: Platform, world: World) -> None:
    response = await platform.call(
        "POST",
        "/api/v1/channels",
        world.keys[Role.ADMIN],
        json={
            "type": "whatsapp",
            "name": "Support",
            "phone_number_id": "106540352242922",
            "access_token": "EAAG secret with blanks",
        },
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "whatsapp", "access_token"]
    assert "secret" not in response.text
