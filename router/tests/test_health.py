import httpx
import respx

from .conftest import SERVER_URL, RouterUnderTest, make_settings, running_router


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
        "checks": {"database": "up", "queue": "up", "server": "up"},
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
