"""Who is calling, and in which tenant: the dependency every platform endpoint starts from.

Order of the answers, the same on every endpoint: no key or a bad one 401; a role that may not do
this 403 (whatever the object: it reveals nothing); an object of another tenant 404, never 403.
"""

import hmac
import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import keys
from app.auth import repository as api_keys
from app.auth.jwt import JwtVerifier
from app.auth.operator import is_operator
from app.auth.roles import LIMITED_BY_NUMBERS, Permission, Role, lesser
from app.auth.scope import Principal, Scope
from app.core.clock import utcnow
from app.core.db import SessionDep
from app.core.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from app.core.ids import ID_DIGITS
from app.lifespan import JwtVerifierDep, SettingsDep
from app.members import repository as members
from app.tenants import repository as tenants
from app.tenants.models import DEFAULT_TENANT_NAME

TENANT_HEADER = "X-Tenant-ID"
# last_used_at is a write; once a minute per key is precise enough and keeps reads reads.
LAST_USED_PRECISION = timedelta(minutes=1)

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_bearer = HTTPBearer(auto_error=False, description="a JWT of the identity provider (OIDC)")


def _tenant_id(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(ID_DIGITS, value):
        raise ValueError("a tenant's id: its digits")
    return value


TenantHeader = Annotated[
    int | None,
    BeforeValidator(_tenant_id),
    # A header is text, absent or a tenant's id; never JSON's null, which `int | None` would say.
    WithJsonSchema({"type": "string", "pattern": f"^{ID_DIGITS}$"}),
    Header(
        alias=TENANT_HEADER,
        description="the tenant to act in: with the operator's key (without it, the default "
        "tenant, whose channel is the env's number), and with a token whose subject is a member "
        "of several tenants",
    ),
]


async def channels_seen(
    session: AsyncSession, role: Role, member_id: int | None, key_channels: list[int] | None
) -> frozenset[int] | None:
    """The numbers a caller sees (None: all). An agent or viewer member on at least one number
    sees those only, on none every number; a key limited to numbers (`channel_ids`) sees those
    only, and a key of a member both limits at once."""
    seen = None if key_channels is None else frozenset(key_channels)
    if member_id is not None and role in LIMITED_BY_NUMBERS:
        on = await members.channel_ids(session, member_id)
        if on:
            seen = on if seen is None else seen & on
    return seen


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    verifier: JwtVerifierDep,
    tenant: TenantHeader = None,
    api_key: Annotated[str | None, Depends(_api_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Principal:
    if api_key is not None and bearer is not None:
        # Two credentials could name two callers: which one acts would be a guess.
        raise Unauthorized("send one credential: an X-API-Key or an Authorization: Bearer token")
    if api_key is not None:
        if is_operator(settings, api_key):
            return Principal(tenant_id=None, role=None)
        return await _tenant_key(session, api_key)
    if bearer is not None:
        if verifier is None:
            raise Unauthorized("bearer tokens are not accepted here: OIDC is not configured")
        provision = settings.router_oidc_auto_provision_tenant_id
        return await _member_of_token(session, verifier, bearer.credentials, tenant, provision)
    raise Unauthorized("an X-API-Key header or an Authorization: Bearer token is required")


async def _tenant_key(session: SessionDep, presented: str) -> Principal:
    parsed = keys.parse(presented)
    key = await api_keys.find_active(session, parsed.public_id) if parsed else None
    if parsed is None or key is None or not keys.secret_matches(parsed, key.secret_hash):
        raise Unauthorized("the X-API-Key is not a valid key")
    role = Role(key.role)
    if key.member_id is not None:
        member = await members.get(session, key.tenant_id, key.member_id)
        if member is None:
            raise Unauthorized("the X-API-Key is not a valid key")
        role = lesser(role, Role(member.role))  # a member's key never exceeds the member
    seen = await channels_seen(session, role, key.member_id, key.channel_ids)
    if key.last_used_at is None or utcnow() - key.last_used_at > LAST_USED_PRECISION:
        await api_keys.touch(session, key)
    return Principal(key.tenant_id, role, key.member_id, key.id, seen)


async def principal_of_key(session: SessionDep, presented: str) -> Principal:
    """Who a tenant's key (`wr_live_...`) is; 401 when it is not a valid key."""
    return await _tenant_key(session, presented)


async def _member_of_token(
    session: SessionDep,
    verifier: JwtVerifier,
    token: str,
    tenant: int | None,
    provision: int | None = None,
) -> Principal:
    identity = await verifier.identify(token)
    found = await members.for_subject(session, identity.subject)
    if not found and identity.email is not None:
        # An owner invited this person by email: the first sign-in binds the subject.
        found = await members.bind_invitations(session, identity.email, identity.subject)
    if not found and provision is not None and await tenants.get(session, provision) is not None:
        # ROUTER_OIDC_AUTO_PROVISION_TENANT_ID: anyone the provider vouches for may look in.
        made = await members.provision(
            session, provision, identity.subject, identity.name, identity.email
        )
        found = [made] if made is not None else []
    # The index found the rows; the match itself is made in constant time, as keys are.
    found = [
        m
        for m in found
        if m.oidc_subject is not None
        and hmac.compare_digest(m.oidc_subject.encode(), identity.subject.encode())
    ]
    if tenant is not None:
        found = [m for m in found if m.tenant_id == tenant]
    if not found:
        raise Forbidden("the token's subject is not a member of any tenant here")
    if len(found) > 1:
        raise Unprocessable(
            f"{TENANT_HEADER}: the token's subject is a member of several tenants; name one"
        )
    [member] = found
    role = Role(member.role)
    seen = await channels_seen(session, role, member.id, None)
    return Principal(member.tenant_id, role, member.id, channel_ids=seen)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Any:
    """A dependency giving the request's Scope, once the caller may do `permission`."""

    async def scope(
        principal: PrincipalDep, session: SessionDep, tenant: TenantHeader = None
    ) -> Scope:
        return await scope_of(principal, session, tenant, permission)

    return Depends(scope)


async def scope_of(
    principal: Principal, session: AsyncSession, tenant: int | None, permission: Permission
) -> Scope:
    """The tenant `principal` acts in (`tenant`: X-Tenant-ID), once it may do `permission`."""
    if not principal.may(permission):
        raise Forbidden(f"the role {principal.role} may not do this")
    if principal.tenant_id is not None:
        if tenant is not None and tenant != principal.tenant_id:
            raise NotFound(f"no tenant {tenant}")
        return Scope(principal.tenant_id, principal)
    if tenant is None:
        # A single-number deployment has one tenant: the operator needs no header for it.
        default = await tenants.by_name(session, DEFAULT_TENANT_NAME)
        if default is None:
            raise NotFound(f"no default tenant: name one with {TENANT_HEADER}")
        return Scope(default.id, principal)
    if await tenants.get(session, tenant) is None:
        raise NotFound(f"no tenant {tenant}")
    return Scope(tenant, principal)


async def require_operator(principal: PrincipalDep) -> Principal:
    if not principal.is_operator:
        raise Forbidden("only the operator (ROUTER_ADMIN_API_KEY) may do this")
    return principal


OperatorDep = Annotated[Principal, Depends(require_operator)]
ReadScope = Annotated[Scope, require(Permission.READ)]
AccessScope = Annotated[Scope, require(Permission.MANAGE_ACCESS)]
ChannelsScope = Annotated[Scope, require(Permission.MANAGE_CHANNELS)]
ContactsScope = Annotated[Scope, require(Permission.MANAGE_CONTACTS)]
ConverseScope = Annotated[Scope, require(Permission.CONVERSE)]
SchedulesScope = Annotated[Scope, require(Permission.MANAGE_SCHEDULES)]
