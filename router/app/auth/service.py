"""API keys: made, listed, revoked."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import keys, repository
from app.auth.models import ApiKey
from app.auth.roles import LIMITED_BY_NUMBERS, Role, lesser
from app.auth.schemas import KeyIn, KeyOut, NewKeyOut
from app.channels import service as channels
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound
from app.core.pagination import page_of
from app.members import repository as members


async def create(session: AsyncSession, tenant_id: int, body: KeyIn) -> NewKeyOut:
    if body.member_id is not None:
        member = await members.get(session, tenant_id, body.member_id)
        if member is None:
            raise NotFound(f"no member {body.member_id}")
        if lesser(body.role, Role(member.role)) != body.role:
            # A conflict with the member as stored (their role may change), not a bad request.
            raise Conflict(
                f"role: a key acting as member {member.id} cannot exceed their role ({member.role})"
            )
    channel_ids = None
    if body.channel_ids is not None:
        if body.role not in LIMITED_BY_NUMBERS:
            # An owner's or admin's key manages keys, members and numbers: limited to some
            # numbers, it could make itself a key or a member that is not.
            raise Conflict(
                f"channel_ids: a key of an {body.role} sees every number; only an agent's or a "
                "viewer's key is limited to some"
            )
        channel_ids = sorted(set(body.channel_ids))
        for channel_id in channel_ids:
            await channels.get(session, tenant_id, channel_id)  # another tenant's: 404
    made = keys.new_key()
    key = ApiKey(
        tenant_id=tenant_id,
        member_id=body.member_id,
        channel_ids=channel_ids,
        name=body.name,
        role=body.role.value,
        public_id=made.public_id,
        secret_hash=made.secret_hash,
    )
    session.add(key)
    await session.commit()
    return NewKeyOut(**KeyOut.of(key).model_dump(), key=made.key)


async def page(
    session: AsyncSession, tenant_id: int, after_id: int | None, limit: int
) -> tuple[list[KeyOut], str | None]:
    rows = await repository.page(session, tenant_id, after_id, limit + 1)
    items, cursor = page_of(rows, limit, lambda k: k.id)
    return [KeyOut.of(k) for k in items], cursor


async def revoke(session: AsyncSession, tenant_id: int, key_id: int) -> None:
    key = await repository.get(session, tenant_id, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.commit()
