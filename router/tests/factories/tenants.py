from app.auth import keys
from app.auth.models import ApiKey
from app.auth.roles import Role
from app.members.models import Member
from app.tenants.models import Tenant

from .store import Sessions, add


async def tenant(sessions: Sessions, name: str = "Acme") -> Tenant:
    return await add(sessions, Tenant(name=name))


async def member(
    sessions: Sessions,
    tenant_id: int,
    role: Role = Role.AGENT,
    *,
    name: str = "Support Agent",
    email: str | None = None,
    subject: str | None = None,
) -> Member:
    return await add(
        sessions,
        Member(tenant_id=tenant_id, name=name, role=role.value, email=email, oidc_subject=subject),
    )


async def api_key(
    sessions: Sessions, tenant_id: int, role: Role = Role.OWNER, member_id: int | None = None
) -> tuple[ApiKey, str]:
    """A stored key and the key itself."""
    made = keys.new_key()
    row = await add(
        sessions,
        ApiKey(
            tenant_id=tenant_id,
            member_id=member_id,
            name=f"{role} key",
            role=role.value,
            public_id=made.public_id,
            secret_hash=made.secret_hash,
        ),
    )
    return row, made.key
