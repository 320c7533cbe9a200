"""`python -m tests.e2e.untraced`: the router built from the environment (no OTLP endpoint), one
signed webhook through its whole path (the Server and the Graph API named by the environment),
then a JSON line: how many messages were replied, and which modules of OpenTelemetry's tracing
(its SDK's traces, exporter, instrumentations), or of the router's own, were loaded meanwhile."""

import asyncio
import json
import os
import sys

import httpx

from app.main import create_app

from ..meta import signed, text_message

# What traces need. Not OpenTelemetry's API package, which FastAPI imports for its own telemetry,
# nor its SDK's metrics, which redis-py imports whenever the SDK is installed (unused unless its
# own observability is turned on).
TRACING_MODULES = (
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "app.observability.otel",
)


async def main() -> None:
    app = create_app()
    secret = os.environ["WHATSAPP_APP_SECRET"]
    key = {"X-API-Key": os.environ["ROUTER_ADMIN_API_KEY"]}
    async with app.router.lifespan_context(app) as state:
        scoped = dict(state or {})

        async def with_state(scope, receive, send):  # type: ignore[no-untyped-def]
            scope["state"] = scoped
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
            body, headers = signed(secret, text_message("wamid.untraced.1", "hello"))
            assert (await client.post("/webhook", content=body, headers=headers)).is_success
            async with asyncio.timeout(30):
                while True:
                    page = await client.get(
                        "/api/v1/messages", params={"status": "replied"}, headers=key
                    )
                    replied = len(page.json()["items"])
                    if replied:
                        break
                    await asyncio.sleep(0.05)
    loaded = sorted(m for m in sys.modules if m.startswith(TRACING_MODULES))
    print(json.dumps({"replied": replied, "loaded": loaded}))


if __name__ == "__main__":
    asyncio.run(main())
