"""The conversation backend's paths: `/conversations/{id}` and its messages and transfers at the
root, beside `/api/v1/conversations/...`. The same handlers (so the same keys, roles and answers),
mounted twice."""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from app.conversations.endpoints import router as conversations_router
from app.messages.endpoints import router as messages_router

API_PREFIX = "/api/v1/conversations"
# The backend's operations, as (method, path under the prefix).
MOUNTED = {
    ("GET", "/{conversation_id}"),
    ("GET", "/{conversation_id}/messages"),
    ("POST", "/{conversation_id}/messages"),
    ("POST", "/{conversation_id}/transfer"),
    ("POST", "/{conversation_id}/transfer-toggle"),
}

router = APIRouter(prefix="/conversations", tags=["conversation backend paths"])

for source in (conversations_router, messages_router):
    for route in source.routes:
        if not isinstance(route, APIRoute):
            continue
        path = route.path.removeprefix(API_PREFIX)
        for method in sorted(route.methods or ()):
            if (method, path) in MOUNTED:
                router.add_api_route(
                    path,
                    route.endpoint,
                    methods=[method],
                    response_model=route.response_model,
                    status_code=route.status_code,
                    responses=route.responses,
                    description=route.description,
                    name=f"root_{route.name}",
                    # A body the handler reads itself (a file too), and the size it allows.
                    openapi_extra=route.openapi_extra,
                    max_body_size=route.max_body_size,
                )
