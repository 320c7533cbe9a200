import httpx
import respx

from .conftest import SERVER_URL, RouterUnderTest


async def test_health_reports_the_server(
    router: RouterUnderTest, mock_http: respx.MockRouter
) -> None:
    mock_http.get(f"{SERVER_URL}/health").mock(return_value=httpx.Response(200))
    up = await router.client.get("/health")
    mock_http.get(f"{SERVER_URL}/health").mock(side_effect=httpx.ConnectError("down"))
    down = await router.client.get("/health")

    assert up.status_code == 200
    assert up.json() == {"status": "ok", "checks": {"server": "up"}}
    assert down.json()["checks"]["server"] == "down"
