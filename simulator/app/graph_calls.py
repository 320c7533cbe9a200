"""What every Graph API endpoint does alike: the version in its path, the latency fault, and the
record of the request and its answer (`GET /sim/requests`)."""

import asyncio
import re
from typing import Any

from fastapi import Request

from app.simulator import Simulator
from app.store import GraphRequest, now

VERSION = re.compile(r"^v\d+\.\d+$")


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
