"""What every Graph API endpoint does alike: the version in its path, the latency fault, the
record of the request and its answer (`GET /sim/requests`), and a call answered as Meta answers
it (`answered`)."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse

from app.errors import GraphError
from app.simulator import Simulator
from app.store import GraphRequest, now

VERSION = re.compile(r"^v\d+\.\d+$")

log = structlog.get_logger()


async def latency(simulator: Simulator) -> None:
    latency = simulator.faults.behaviour.latency_ms
    if latency:
        await asyncio.sleep(latency / 1000)


def record(
    simulator: Simulator,
    request: Request,
    phone_id: str,
    body: Any,
    status_code: int,
    answer: dict[str, Any],
) -> None:
    store = simulator.store
    store.requests.append(
        GraphRequest(
            id=len(store.requests) + 1,
            at=now(),
            method=request.method,
            path=request.scope["path"],
            phone_id=phone_id,
            authorization=request.headers.get("authorization"),
            body=body,
            status_code=status_code,
            response=answer,
        )
    )


async def answered(
    simulator: Simulator,
    request: Request,
    operation: str,
    target: str,
    call: Callable[[], Awaitable[dict[str, Any]]],
    body: Callable[[], Any] = lambda: None,
) -> JSONResponse:
    """`call`'s answer with a 200, or a GraphError's as Meta words it; counted under `operation`
    and recorded against `target` with `body()` (read after the call: what it received)."""
    code = None
    try:
        status_code, answer = 200, await call()
    except GraphError as exc:
        status_code, answer, code = exc.status_code, exc.body(), exc.code
        log.info("graph.error", code=exc.code, status_code=status_code)
    simulator.metrics.graph_answered(operation, code)
    record(simulator, request, target, body(), status_code, answer)
    return JSONResponse(answer, status_code=status_code)
