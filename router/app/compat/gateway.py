"""The hardened WhatsApp gateway's operations paths, answered by the monitoring API's service
(app/monitoring): `/monitoring/queue/health`, `/rate-limit/health`, `/rate-limit/stats/{number}`.

Unlike the gateway's, each asks for the operator's key: 401 without a valid key, 403 for a tenant's.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.auth.principal import require_operator
from app.core.errors import ErrorBody, NotFound, StoreUnavailable, answers, declared
from app.lifespan import MonitoringDep
from app.monitoring.schemas import QueueHealth, RateLimit, RateLimitHealth

router = APIRouter(
    tags=["gateway compatibility"],
    dependencies=[Depends(require_operator)],
    responses=answers(),
)

# A phone_number_id (digits), or a display number: its digits, with or without "+".
PhoneNumber = Annotated[str, Path(pattern=r"^\+?[0-9]{1,64}$")]


def _answer(health: BaseModel, unavailable: bool) -> JSONResponse:
    """The health's body, with a 503 when what it checks does not answer."""
    return JSONResponse(health.model_dump(mode="json"), status_code=503 if unavailable else 200)


@router.get(
    "/monitoring/queue/health",
    response_model=QueueHealth,
    responses={
        503: {
            "model": QueueHealth | ErrorBody,
            "description": "the queue does not answer (status: unavailable), the database does "
            f"not (error.code: {StoreUnavailable.code}), or the identity provider's keys cannot "
            "be fetched for a bearer token",
        }
    },
)
async def queue_health(monitoring: MonitoringDep) -> Any:
    """The queue's health: /api/v1/monitoring/queue's figures and whether the queue answers."""
    health = await monitoring.queue_health()
    return _answer(health, health.status == "unavailable")


@router.get(
    "/rate-limit/health",
    response_model=RateLimitHealth,
    responses={
        503: {
            "model": RateLimitHealth | ErrorBody,
            "description": "the rate limit's store does not answer (status: unavailable), or "
            "the identity provider's keys cannot be fetched for a bearer token",
        }
    },
)
async def rate_limit_health(monitoring: MonitoringDep) -> Any:
    """Whether the rate limit's store (Redis, when configured) answers."""
    health = await monitoring.rate_limit_health()
    return _answer(health, health.status == "unavailable")


@router.get("/rate-limit/stats/{phone_number}", responses=declared(NotFound))
async def rate_limit_stats(phone_number: PhoneNumber, monitoring: MonitoringDep) -> RateLimit:
    """One number's send budget and use, by its phone_number_id or its display number."""
    found = await monitoring.rate_limit_of_number(phone_number)
    if found is None:
        raise NotFound(
            f"{phone_number} is neither a channel's phone_number_id nor its display number, and "
            "no send went out from it here"
        )
    return found
