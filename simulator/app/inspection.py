"""The inspection API: everything recorded, a live event stream, and reset."""

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from app.deps import SimulatorDep
from app.store import Delivery, DeliveryKind, DeliveryState, Direction, GraphRequest, Message

router = APIRouter(prefix="/sim", tags=["inspection"])

KEEPALIVE_SECONDS = 15.0


@router.get("/messages")
async def list_messages(
    simulator: SimulatorDep,
    wa_id: str | None = None,
    phone_number_id: str | None = None,
    direction: Direction | None = None,
    type_: str | None = Query(default=None, alias="type"),
) -> list[Message]:
    """Messages in both directions, oldest first, optionally filtered."""
    return [
        m
        for m in simulator.store.messages.values()
        if (wa_id is None or m.wa_id == wa_id)
        and (phone_number_id is None or m.phone_number_id == phone_number_id)
        and (direction is None or m.direction == direction)
        and (type_ is None or m.type == type_)
    ]


@router.get("/messages/{wamid:path}")
async def get_message(wamid: str, simulator: SimulatorDep) -> Message:
    """One message by its wamid."""
    message = simulator.store.messages.get(wamid)
    if message is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {wamid}")
    return message


@router.get("/users/{wa_id}/messages")
async def conversation(
    wa_id: str, simulator: SimulatorDep, phone_number_id: str | None = None
) -> list[Message]:
    """One user's chat with a business number (every number's when none is named), oldest first."""
    if phone_number_id is not None:
        return simulator.store.conversation(wa_id, phone_number_id)
    return [m for m in simulator.store.messages.values() if m.wa_id == wa_id]


@router.get("/requests")
async def list_requests(simulator: SimulatorDep) -> list[GraphRequest]:
    """Every Graph API request received, with the answer given."""
    return simulator.store.requests


@router.get("/deliveries")
async def list_deliveries(
    simulator: SimulatorDep,
    kind: DeliveryKind | None = None,
    state: DeliveryState | None = None,
    wamid: str | None = None,
) -> list[Delivery]:
    """Every webhook delivery made, with each attempt's outcome."""
    return [
        d
        for d in simulator.store.deliveries.values()
        if (kind is None or d.kind == kind)
        and (state is None or d.state == state)
        and (wamid is None or wamid in d.wamids)
    ]


@router.post("/flush")
async def flush(
    simulator: SimulatorDep, seconds: float = Query(default=10.0, gt=0, le=120)
) -> dict[str, int]:
    """Wait until every scheduled status webhook has been delivered (or `seconds` pass)."""
    return {"pending": await simulator.flush(seconds)}


@router.post("/reset")
async def reset(simulator: SimulatorDep) -> dict[str, str]:
    """Forget all users, messages, requests and deliveries; restore the configured faults."""
    await simulator.reset()
    return {"status": "reset"}


@router.get("/events")
async def events(request: Request, simulator: SimulatorDep) -> StreamingResponse:
    """Server-sent events for the chat page: business, user, message, status, typing, delivery,
    reset."""
    hub = simulator.store.hub
    queue = hub.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 1000\n\n"
            while not hub.closing.is_set() and not await request.is_disconnected():
                next_event = asyncio.ensure_future(queue.get())
                closing = asyncio.ensure_future(hub.closing.wait())
                done, _ = await asyncio.wait(
                    {next_event, closing},
                    timeout=KEEPALIVE_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                closing.cancel()
                if next_event not in done:
                    next_event.cancel()
                    if not done:
                        yield ": keepalive\n\n"
                    continue
                event, data = next_event.result()
                yield f"event: {event}\ndata: {json.dumps(data)}\n\n"
        finally:
            hub.unsubscribe(queue)

    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
