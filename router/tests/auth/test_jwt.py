"""`Authorization: Bearer <JWT>`: tokens of the identity provider, checked against its JWKS."""

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.auth.roles import Role
from app.core.engine import create_engine, migrate
from app.members.models import Member

from ..conftest import make_settings, running_router
from ..factories import tenants
from ..world import Platform
from .jwks import AUDIENCE, ISSUER, Provider, SigningKey, serving


@pytest.fixture(scope="module")
def first_key() -> SigningKey:
    return SigningKey("key-1")


@pytest.fixture
def provider(first_key: SigningKey) -> Iterator[Provider]:
    with serving(first_key) as provider:
        yield provider


@asynccontextmanager
async def platform_with_oidc(
    database_url: str, jwks_url: str, **settings: Any
) -> AsyncIterator[Platform]:
    oidc = {
        "router_oidc_jwks_url": jwks_url,
        "router_oidc_issuer": ISSUER,
        "router_oidc_audience": AUDIENCE,
        "router_oidc_jwks_cooldown_seconds": 0,
    }
    async with running_router(make_settings(database_url=database_url, **oidc | settings)) as r:
        yield Platform(r)


@pytest.fixture
async def oidc(
    mock_http: respx.MockRouter, database_url: str, provider: Provider
) -> AsyncIterator[Platform]:
    async with platform_with_oidc(database_url, provider.url) as platform:
        yield platform


def bearer(token: str, tenant: int | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant is not None:
        headers["X-Tenant-ID"] = str(tenant)
    return headers


async def test_a_members_token_acts_as_that_member_with_their_role(
    oidc: Platform, first_key: SigningKey
) -> None:
    acme = await tenants.tenant(oidc.sessions, "Acme")
    await tenants.member(oidc.sessions, acme.id, Role.VIEWER, subject="auth0|viewer")
    token = first_key.token("auth0|viewer")

    read = await oidc.call("GET", "/api/v1/members", headers=bearer(token))
    write = await oidc.call(
        "POST", "/api/v1/members", headers=bearer(token), json={"name": "Member", "role": "agent"}
    )

    assert read.status_code == 200
    assert write.status_code == 403


async def test_an_unknown_subject_is_403(oidc: Platform, first_key: SigningKey) -> None:
    response = await oidc.call(
        "GET", "/api/v1/members", headers=bearer(first_key.token("auth0|stranger"))
    )

    assert response.status_code == 403
    assert "not a member" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "someone-else"}, "Audience"),
        ({"iss": "https://evil.test/"}, "issuer"),
    ],
)
async def test_a_token_not_meant_for_us_is_401(
    oidc: Platform, first_key: SigningKey, claims: dict[str, Any], reason: str
) -> None:
    acme = await tenants.tenant(oidc.sessions, "Acme")
    await tenants.member(oidc.sessions, acme.id, Role.OWNER, subject="auth0|owner")

    response = await oidc.call(
        "GET", "/api/v1/members", headers=bearer(first_key.token("auth0|owner", **claims))
    )

    assert response.status_code == 401
    assert reason in response.json()["error"]["message"]


async def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_401(
    oidc: Platform,
) -> None:
    acme = await tenants.tenant(oidc.sessions, "Acme")
    await tenants.member(oidc.sessions, acme.id, Role.OWNER, subject="auth0|owner")
    forged = SigningKey("key-1").token("auth0|owner")  # the right kid, another private key
    unknown = SigningKey("key-x").token("auth0|owner")
    shared_secret = jwt.encode(
        {"sub": "auth0|owner", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
        "a-shared-secret-that-is-long-enough",
        algorithm="HS256",
        headers={"kid": "key-1"},
    )

    for token in (forged, unknown, shared_secret, "not.a.jwt"):
        response = await oidc.call("GET", "/api/v1/members", headers=bearer(token))
        assert response.status_code == 401, token


async def test_a_rotated_key_is_picked_up_and_keys_are_cached(
    oidc: Platform, provider: Provider, first_key: SigningKey
) -> None:
    acme = await tenants.tenant(oidc.sessions, "Acme")
    await tenants.member(oidc.sessions, acme.id, Role.OWNER, subject="auth0|owner")
    old = first_key.token("auth0|owner")

    before = [
        (await oidc.call("GET", "/api/v1/members", headers=bearer(old))).status_code
        for _ in range(3)
    ]
    fetched_once = provider.fetches
    second_key = SigningKey("key-2")
    provider.keys = [second_key]  # the provider rotates and withdraws the old key
    rotated = await oidc.call(
        "GET", "/api/v1/members", headers=bearer(second_key.token("auth0|owner"))
    )
    withdrawn = await oidc.call("GET", "/api/v1/members", headers=bearer(old))

    assert before == [200, 200, 200]
    assert fetched_once == 1
    assert rotated.status_code == 200
    assert withdrawn.status_code == 401


async def test_an_invitation_by_email_is_taken_up_at_the_first_sign_in(
    oidc: Platform, first_key: SigningKey
) -> None:
    acme = await tenants.tenant(oidc.sessions, "Acme")
    invited = await tenants.member(oidc.sessions, acme.id, Role.AGENT, email="agent@acme.test")

    unverified = await oidc.call(
        "GET",
        "/api/v1/members",
        headers=bearer(first_key.token("auth0|agent", email="agent@acme.test")),
    )
    verified = await oidc.call(
        "GET",
        "/api/v1/members",
        headers=bearer(
            first_key.token("auth0|agent", email="Agent@Acme.test", email_verified=True)
        ),
    )
    later = await oidc.call(
        "GET", "/api/v1/members", headers=bearer(first_key.token("auth0|agent"))
    )
    async with oidc.sessions() as session:
        subject = await session.scalar(select(Member.oidc_subject).where(Member.id == invited.id))

    assert unverified.status_code == 403
    assert verified.status_code == 200
    assert later.status_code == 200
    assert subject == "auth0|agent"


async def test_a_member_of_several_tenants_names_one(oidc: Platform, first_key: SigningKey) -> None:
    acme = await tenants.tenant(oidc.sessions, "Acme")
    second_company = await tenants.tenant(oidc.sessions, "Second Company")
    await tenants.member(oidc.sessions, acme.id, Role.OWNER, subject="auth0|consultant")
    await tenants.member(oidc.sessions, second_company.id, Role.VIEWER, subject="auth0|consultant")
    token = first_key.token("auth0|consultant")

    unnamed = await oidc.call("GET", "/api/v1/members", headers=bearer(token))
    new_member = {"name": "Member", "role": "agent"}
    in_second = await oidc.call(
        "POST", "/api/v1/members", headers=bearer(token, second_company.id), json=new_member
    )
    in_acme = await oidc.call(
        "POST", "/api/v1/members", headers=bearer(token, acme.id), json=new_member
    )
    elsewhere = await oidc.call("GET", "/api/v1/members", headers=bearer(token, 999))

    assert unnamed.status_code == 422
    assert "X-Tenant-ID" in unnamed.json()["error"]["message"]
    assert in_second.status_code == 403  # a viewer there
    assert in_acme.status_code == 201  # an owner here
    assert elsewhere.status_code == 403  # a member of no such tenant


async def test_bearer_tokens_need_oidc_to_be_configured(
    mock_http: respx.MockRouter, database_url: str, first_key: SigningKey
) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        response = await router.client.get(
            "/api/v1/members", headers=bearer(first_key.token("auth0|owner"))
        )

    assert response.status_code == 401
    assert "OIDC is not configured" in response.json()["error"]["message"]


async def test_an_unreachable_identity_provider_is_503(
    mock_http: respx.MockRouter, database_url: str, first_key: SigningKey
) -> None:
    with serving() as gone:
        url = gone.url
    async with platform_with_oidc(database_url, url) as platform:
        response = await platform.call(
            "GET", "/api/v1/members", headers=bearer(first_key.token("auth0|owner"))
        )

    assert response.status_code == 503
    assert "identity provider" in response.json()["error"]["message"]


def test_oidc_settings_come_together() -> None:
    with pytest.raises(ValueError, match="ROUTER_OIDC_AUDIENCE is not set"):
        make_settings(router_oidc_jwks_url="https://id.test/jwks", router_oidc_issuer=ISSUER)
    assert make_settings().router_oidc_jwks_url is None


@asynccontextmanager
async def provisioning_into(
    database_url: str, provider: Provider
) -> AsyncIterator[tuple[Platform, int]]:
    """A router whose ROUTER_OIDC_AUTO_PROVISION_TENANT_ID names a tenant of its store."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        tenant = await tenants.tenant(async_sessionmaker(engine, expire_on_commit=False), "Acme")
    finally:
        await engine.dispose()
    async with platform_with_oidc(
        database_url, provider.url, router_oidc_auto_provision_tenant_id=tenant.id
    ) as platform:
        yield platform, tenant.id


async def test_an_unknown_subject_becomes_a_viewer_when_provisioning_is_on(
    mock_http: respx.MockRouter, database_url: str, provider: Provider, first_key: SigningKey
) -> None:
    async with provisioning_into(database_url, provider) as (platform, tenant):
        token = first_key.token(
            "auth0|newcomer", name="New Comer", email="New@Acme.test", email_verified=True
        )
        first = await platform.call("GET", "/api/v1/users/me", headers=bearer(token))
        again = await platform.call("GET", "/api/v1/users/me", headers=bearer(token))
        devices = await platform.call("GET", "/api/v1/users/me/devices", headers=bearer(token))
        write = await platform.call(
            "POST", "/api/v1/members", headers=bearer(token), json={"name": "X", "role": "agent"}
        )
        unverified = await platform.call(
            "GET",
            "/api/v1/users/me",
            headers=bearer(first_key.token("auth0|unverified", email="someone@acme.test")),
        )
        async with platform.sessions() as session:
            made = (await session.scalars(select(Member).where(Member.tenant_id == tenant))).all()

    assert first.status_code == 200, first.text
    me = first.json()
    assert me["name"] == "New Comer"
    assert me["email"] == "new@acme.test"
    assert me["role"] == "viewer"
    assert me["tenant_id"] == tenant
    assert again.json()["id"] == me["id"]  # made once
    assert devices.json()["items"] == []  # on no number: every number's conversations
    assert write.status_code == 403
    assert unverified.json()["email"] is None  # an address the provider did not vouch for
    assert unverified.json()["name"] == "auth0|unverified"
    assert sorted(m.oidc_subject or "" for m in made) == ["auth0|newcomer", "auth0|unverified"]


async def test_without_provisioning_an_unknown_subject_stays_out(
    oidc: Platform, first_key: SigningKey
) -> None:
    acme = await tenants.tenant(oidc.sessions, "Acme")
    token = first_key.token("auth0|stranger", name="Stranger", email_verified=True)

    refused = await oidc.call("GET", "/api/v1/users/me", headers=bearer(token))
    async with oidc.sessions() as session:
        made = (await session.scalars(select(Member).where(Member.tenant_id == acme.id))).all()

    assert refused.status_code == 403
    assert made == []


def test_provisioning_needs_oidc() -> None:
    with pytest.raises(ValueError, match="ROUTER_OIDC_AUTO_PROVISION_TENANT_ID"):
        make_settings(router_oidc_auto_provision_tenant_id=1)
