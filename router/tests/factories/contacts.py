from app.contacts.models import Contact

from .store import Sessions, add


async def contact(
    sessions: Sessions,
    tenant_id: int,
    wa_id: str | None = "15550001234",
    *,
    user_id: str | None = None,
    name: str | None = "Customer",
    blocked: bool = False,
) -> Contact:
    return await add(
        sessions,
        Contact(
            tenant_id=tenant_id,
            wa_id=wa_id,
            user_id=user_id,
            name=name,
            name_edited=False,
            is_blocked=blocked,
        ),
    )
