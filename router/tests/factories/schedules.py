from datetime import timedelta

from app.core.clock import utcnow
from app.schedules.models import Schedule, ScheduleStatus

from .store import Sessions, add


async def schedule(
    sessions: Sessions, tenant_id: int, channel_id: int, contact_id: int, text: str = "hello"
) -> Schedule:
    """A schedule due in an hour."""
    at = utcnow() + timedelta(hours=1)
    return await add(
        sessions,
        Schedule(
            tenant_id=tenant_id,
            channel_id=channel_id,
            recipients=[contact_id],
            text=text,
            send_at=at,
            timezone="UTC",
            status=ScheduleStatus.ACTIVE.value,
            next_run_at=at,
        ),
    )
