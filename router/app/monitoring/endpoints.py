"""`/api/v1/monitoring`: is the router behind, which workers run, how each number's rate limit
stands, whether a circuit is open. The operator's key, like `/api/v1/messages`."""

from typing import Annotated

from fastapi import APIRouter, Path

from app.auth.operator import AdminDep
from app.core.errors import NotConfigured, NotFound, Unauthorized, declared
from app.lifespan import MonitoringDep
from app.monitoring.schemas import Circuits, QueueOut, RateLimit, RateLimits

router = APIRouter(
    prefix="/api/v1/monitoring",
    tags=["monitoring"],
    dependencies=[AdminDep],
    responses=declared(Unauthorized, NotConfigured),
)


# Meta's phone number ids are digits (a webhook's that are not are skipped: app/inbound/payload.py).
PhoneNumberId = Annotated[str, Path(pattern=r"^[0-9]{1,64}$")]


@router.get("/queue")
async def queue(monitoring: MonitoringDep) -> QueueOut:
    """The messages waiting, held and failed, and the worker processes seen in the last minute."""
    return await monitoring.queue()


@router.get("/rate-limits")
async def rate_limits(monitoring: MonitoringDep) -> RateLimits:
    """Each number's send budget and use: every WhatsApp channel's, and any other this process
    sent from."""
    return await monitoring.rate_limits()


@router.get("/rate-limits/{phone_number_id}", responses=declared(NotFound))
async def rate_limit(phone_number_id: PhoneNumberId, monitoring: MonitoringDep) -> RateLimit:
    """One number's send budget and use."""
    found = await monitoring.rate_limit(phone_number_id)
    if found is None:
        raise NotFound(
            f"no channel has the number {phone_number_id} and no send went out from it here"
        )
    return found


@router.get("/circuits")
async def circuits(monitoring: MonitoringDep) -> Circuits:
    """Each process's circuit breakers: their state, and when they open or half-open next."""
    return await monitoring.circuits()
