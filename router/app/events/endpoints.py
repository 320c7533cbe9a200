"""The tenant's live events: `GET /api/v1/events` (Server-Sent Events) and `/api/v1/ws`
(WebSocket), the tickets a browser opens them with, and `GET /api/v1/me` (who the caller is)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.sse import format_sse_event
from starlette.websockets import WebSocketDisconnect

from app.auth.principal import ReadScope, TenantHeader, _api_key, _bearer, get_principal, scope_of
from app.auth.roles import Permission
from app.auth.scope import Principal, Scope
from app.core.db import SessionDep
from app.core.errors import NotFound, RouterError, Unauthorized, answers
from app.events import tickets
from app.events.schemas import Me, TicketOut
from app.lifespan import SettingsDep, State, StateDep
from app.members import repository as members
from app.tenants import repository as tenants

router = APIRouter(prefix="/api/v1", tags=["events"], responses=answers(NotFound))

TicketQuery = Annotated[
    str | None,
    Query(
        max_length=1000,
        description="a ticket from POST /api/v1/events/ticket, instead of a key or token "
        "(a browser cannot set headers here)",
    ),
]
EventIdHeader = Annotated[
    int | None,
    Header(
        alias="Last-Event-ID",
        ge=0,
        description="the last event received: the events after it are replayed first",
    ),
]
EventIdQuery = Annotated[
    int | None, Query(ge=0, description="as the Last-Event-ID header, for clients without one")
]


def _auth_of(principal: Principal) -> Literal["api_key", "jwt", "operator"]:
    if principal.is_operator:
        return "operator"
    return "api_key" if principal.api_key_id is not None else "jwt"


async def _caller(
    state: State,
    ticket: str | None,
    tenant: int | None,
    api_key: str | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Scope:
    """Who opens a stream: a ticket, or a key or token as on the API. The session is closed
    before the stream starts: a stream lasts hours, a pooled connection must not."""
    if ticket is not None:
        if api_key is not None or bearer is not None:
            raise Unauthorized("send one credential: a ticket, an X-API-Key or a bearer token")
        tenant_id, principal = tickets.verify(tickets.signing_key(state.settings), ticket)
        return Scope(tenant_id, principal)
    async with state.sessions() as session:
        principal = await get_principal(session, state.settings, state.jwt, tenant, api_key, bearer)
        scope = await scope_of(principal, session, tenant, Permission.READ)
        await session.commit()
    return scope


async def _stream_scope(
    state: StateDep,
    ticket: TicketQuery = None,
    tenant: TenantHeader = None,
    api_key: Annotated[str | None, Depends(_api_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Scope:
    return await _caller(state, ticket, tenant, api_key, bearer)


StreamScope = Annotated[Scope, Depends(_stream_scope)]


# What FastAPI's own SSE streams declare for an event; the stream below writes the same format.
_SSE_ITEM = {
    "type": "object",
    "properties": {
        "data": {"type": "string"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}
PING_SECONDS = 15.0
KEEPALIVE = b": ping\n\n"


class EventStream(StreamingResponse):
    """`text/event-stream`, written by the endpoint itself: FastAPI's EventSourceResponse would
    take each event through its own tasks and streams, one write per event."""

    media_type = "text/event-stream"


@router.get(
    "/events",
    response_class=EventStream,
    responses={200: {"content": {"text/event-stream": {"itemSchema": _SSE_ITEM}}}},
)
async def stream_events(
    state: StateDep,
    scope: StreamScope,
    last_event_id: EventIdHeader = None,
    last_event_id_query: Annotated[EventIdQuery, Query(alias="last_event_id")] = None,
) -> EventStream:
    """The tenant's events as Server-Sent Events (`event:` the type, `id:` the event's id,
    `data:` the event as JSON; a `: ping` comment every 15 s). With `Last-Event-ID` (or
    `?last_event_id=`) the events after it are replayed from the store first (kept
    ROUTER_EVENTS_RETENTION_SECONDS), none twice. A client too slow to read is cut off: it
    reconnects with its last id. Authenticated like the API, or with `?ticket=`."""
    hub = state.events
    since = last_event_id if last_event_id is not None else last_event_id_query
    if since is None:
        since = await hub.newest_id()

    async def body() -> AsyncIterator[bytes]:
        # The events there at once go out as one chunk: one write, not one per event.
        async for batch in hub.batches(scope.tenant_id, since, PING_SECONDS, scope.channel_ids):
            if not batch:
                yield KEEPALIVE
                continue
            yield b"".join(
                format_sse_event(data_str=d.json, event=d.type, id=str(d.id)) for d in batch
            )

    # As FastAPI's SSE responses: no caching, and no buffering by a proxy such as nginx.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventStream(body(), headers=headers)


@router.post("/events/ticket", status_code=201)
async def create_ticket(scope: ReadScope, settings: SettingsDep) -> TicketOut:
    """A ticket for `?ticket=` on GET /api/v1/events and /api/v1/ws, valid for 60 seconds, acting
    as the caller in the caller's tenant. A secret: keep it out of logs and shared links."""
    made = tickets.issue(
        tickets.signing_key(settings), scope.tenant_id, scope.principal, _auth_of(scope.principal)
    )
    return TicketOut(ticket=made.ticket, expires_at=made.expires_at)


@router.get("/me")
async def who_am_i(scope: ReadScope, session: SessionDep) -> Me:
    """Who the caller is: the tenant it acts in, the member it acts as and its role."""
    tenant = await tenants.get(session, scope.tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {scope.tenant_id}")
    principal = scope.principal
    member = (
        await members.get(session, scope.tenant_id, principal.member_id)
        if principal.member_id is not None
        else None
    )
    return Me(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        member_id=member.id if member else None,
        member_name=member.name if member else None,
        role=principal.role,
        auth=_auth_of(principal),
    )


@router.websocket("/ws")
async def websocket_events(
    websocket: WebSocket,
    state: StateDep,
    ticket: TicketQuery = None,
    since: EventIdQuery = None,
) -> None:
    """The tenant's events over a WebSocket, one JSON text frame each; `?since=<id>` replays the
    events after it first. `?ticket=` (browsers) or X-API-Key / Authorization headers."""
    authorization = websocket.headers.get("authorization")
    bearer = None
    if authorization and authorization.lower().startswith("bearer "):
        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=authorization[7:])
    tenant_header = websocket.headers.get("x-tenant-id")
    try:
        tenant = int(tenant_header) if tenant_header else None
        scope = await _caller(
            state,
            ticket,
            tenant,
            websocket.headers.get("x-api-key"),
            bearer,
        )
    except (RouterError, ValueError) as exc:
        await _refuse(websocket, exc)
        return
    hub = state.events
    if since is None:
        since = await hub.newest_id()
    await websocket.accept()

    async def send() -> None:
        async for delivered in hub.stream(scope.tenant_id, since, scope.channel_ids):
            await websocket.send_text(delivered.json)
        # Cut off (too slow) or the process stops: the client reconnects with `since`.
        await websocket.close(code=1013, reason="too far behind: reconnect with since")

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()  # nothing is expected: only the close

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task


async def _refuse(websocket: WebSocket, exc: Exception) -> None:
    """Refuse the handshake: with the API's status and error body where the server can send an
    HTTP answer to a WebSocket request, else a close with 1008 (policy violation)."""
    error = exc if isinstance(exc, RouterError) else Unauthorized("X-Tenant-ID: a tenant's id")
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = {"error": {"code": error.code, "message": error.message}}
        await websocket.send_denial_response(JSONResponse(body, status_code=error.status_code))
    else:
        await websocket.close(code=1008, reason=error.message[:120])
