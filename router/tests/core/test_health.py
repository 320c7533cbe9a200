import aio_pika
import httpx
import respx

from ..backends import fresh_rabbitmq, tcp_proxy
from ..conftest import SERVER_URL, RouterUnderTest, make_settings, running_router


async def test_health_reports_the_store_the_queue_and_the_server(
    router: RouterUnderTest, mock_http: respx.MockRouter
) -> None:
    mock_http.get(f"{SERVER_URL}/health").mock(return_value=httpx.Response(200))
    up = await router.client.get("/health")
    mock_http.get(f"{SERVER_URL}/health").mock(side_effect=httpx.ConnectError("down"))
    server_down = await router.client.get("/health")

    assert up.status_code == 200
    assert up.json() == {
        "status": "ok",
        "checks": {
            "database": "up",
            "queue": "up",
            "rate_limit": "up",
            "server": "up",
            "media": "up",
        },
    }
    # The Server being down is reported but is not the router's own failure.
    assert server_down.status_code == 200
    assert server_down.json()["checks"]["server"] == "down"


async def test_health_is_503_when_the_database_is_down(mock_http: respx.MockRouter) -> None:
    mock_http.get(f"{SERVER_URL}/health").mock(return_value=httpx.Response(200))
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:9/nothing",
        router_migrate_on_start=False,
    )
    async with running_router(settings) as router:
        response = await router.client.get("/health")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"].startswith("down")
    assert response.json()["checks"]["queue"] == "up"


async def test_health_asks_rabbitmq_for_the_routers_queue(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    mock_http.get(f"{SERVER_URL}/health").mock(return_value=httpx.Response(200))
    shared = await fresh_rabbitmq()
    async with running_router(make_settings(database_url=database_url, **shared)) as router:
        up = await router.client.get("/health")
        async with await aio_pika.connect(shared["queue_url"]) as connection:
            channel = await connection.channel()
            await channel.queue_delete(shared["router_queue_name"], if_unused=False, if_empty=False)
        gone = await router.client.get("/health")

    assert up.status_code == 200
    assert up.json()["checks"]["queue"] == "up"
    assert gone.status_code == 503
    assert gone.json()["checks"]["queue"].startswith("down")


async def test_health_is_503_when_rabbitmq_stops_answering(
    mock_http: respx.MockRouter, database_url: str
) -> None:
    mock_http.get(f"{SERVER_URL}/health").mock(return_value=httpx.Response(200))
    shared = await fresh_rabbitmq()
    async with tcp_proxy(shared["queue_url"], 5672) as proxy:
        settings = make_settings(database_url=database_url, **{**shared, "queue_url": proxy.url})
        async with running_router(settings) as router:
            up = await router.client.get("/health")
            await proxy.cut()
            down = await router.client.get("/health")

    assert up.status_code == 200
    assert down.status_code == 503
    assert down.json()["checks"]["queue"].startswith("down")
