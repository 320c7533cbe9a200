import asyncio
import time

import pytest
import respx
from structlog.testing import capture_logs

from app.core.errors import SendRetryable
from app.main import create_app
from app.outbound.ratelimit import SendRateLimiter, storage_for

from ..backends import fresh_rabbitmq, fresh_redis
from ..conftest import make_settings

# A moving window of one second, less what the clocks may disagree by (limits stamps hits with
# time.time(), the tests measure with time.monotonic()).
WINDOW = 0.95


@pytest.fixture(params=["memory", "redis"])
async def queue_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else await fresh_redis()


async def test_a_number_gets_its_budget_then_waits_for_the_next_second(queue_url: str) -> None:
    limiter = SendRateLimiter(storage_for(queue_url), per_second=3)
    try:
        started = time.monotonic()
        for _ in range(3):
            await asyncio.wait_for(limiter.wait("111"), timeout=0.5)

        fourth = asyncio.create_task(limiter.wait("111"))
        # Another number has a budget of its own: it goes out while the fourth waits.
        await asyncio.wait_for(limiter.wait("222"), timeout=0.5)
        assert not fourth.done()
        await asyncio.wait_for(fourth, timeout=2)
        # Over budget, the fourth went out only once the first had left the one-second window.
        assert time.monotonic() - started >= WINDOW
    finally:
        await limiter.aclose()


async def test_processes_sharing_redis_share_one_budget() -> None:
    url = await fresh_redis()
    first = SendRateLimiter(storage_for(url), per_second=2)
    second = SendRateLimiter(storage_for(url), per_second=2)
    try:
        started = time.monotonic()
        await first.wait("333")
        await second.wait("333")

        # Both processes' sends count: the third waits for the window to move on.
        await asyncio.wait_for(first.wait("333"), timeout=2)
        assert time.monotonic() - started >= WINDOW
    finally:
        await first.aclose()
        await second.aclose()


async def test_many_sends_at_once_wait_for_a_connection_instead_of_failing(queue_url: str) -> None:
    # As many as the router's workers: more than the limit's Redis connections.
    limiter = SendRateLimiter(storage_for(queue_url), per_second=1000)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(limiter.wait("444") for _ in range(400))), timeout=10
        )
    finally:
        await limiter.aclose()


async def test_an_unreachable_store_is_a_failure_that_passes() -> None:
    limiter = SendRateLimiter(storage_for("redis://127.0.0.1:9/0"), per_second=10)
    try:
        with pytest.raises(SendRetryable, match="rate limit's store failed"):
            await limiter.wait("555")
    finally:
        await limiter.aclose()


@pytest.mark.parametrize("shared_limit", [False, True])
async def test_a_router_on_rabbitmq_warns_when_its_rate_limit_is_its_own(
    mock_http: respx.MockRouter, database_url: str, shared_limit: bool
) -> None:
    limit = {"router_rate_limit_url": await fresh_redis()} if shared_limit else {}
    settings = make_settings(database_url=database_url, **await fresh_rabbitmq(), **limit)
    app = create_app(settings)  # sets the logging up: capture after it
    with capture_logs() as logs:
        async with app.router.lifespan_context(app):
            pass

    warned = [log for log in logs if log["event"] == "ratelimit.per_process"]
    assert bool(warned) is not shared_limit
    if warned:
        assert warned[0]["log_level"] == "warning"
        assert "ROUTER_RATE_LIMIT_URL=redis://" in warned[0]["detail"]
