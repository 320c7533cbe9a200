"""GET /metrics: on by default, a 404 when ROUTER_METRICS_ENABLED=false (and nothing recorded),
behind a bearer token when ROUTER_METRICS_TOKEN is set, never in the OpenAPI."""

from pathlib import Path

import pytest
import respx

from app.main import create_app
from app.observability.metrics import Metrics, PrometheusMetrics
from app.settings import SettingsError

from ..conftest import APP_SECRET, make_settings, openapi_document, running_router
from ..graph_api import GraphApi
from ..meta import signed, text_message


async def test_metrics_off_is_a_404_and_records_nothing(
    server_route: respx.Route, graph_route: GraphApi, database_url: str
) -> None:
    settings = make_settings(database_url=database_url, router_metrics_enabled=False)
    async with running_router(settings) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.off", "hi"))
        accepted = await router.client.post("/webhook", content=body, headers=headers)
        await router.settle()
        response = await router.client.get("/metrics")
        metrics = router.state.metrics

    assert accepted.status_code == 200
    assert graph_route.call_count == 1  # the message path is the same
    assert response.status_code == 404
    assert type(metrics) is Metrics  # the instruments that do nothing


async def test_a_metrics_token_is_asked_for_and_checked(database_url: str) -> None:
    settings = make_settings(database_url=database_url, router_metrics_token="scrape-secret")
    async with running_router(settings) as router:
        none = await router.client.get("/metrics")
        wrong = await router.client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-secreT"}
        )
        basic = await router.client.get("/metrics", headers={"Authorization": "scrape-secret"})
        right = await router.client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-secret"}
        )

    for refused in (none, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["code"] == "unauthorized"
        assert "scrape-secret" not in refused.text
    assert right.status_code == 200
    assert "router_webhook_requests_total" in right.text


async def test_an_empty_token_asks_for_none(database_url: str) -> None:
    settings = make_settings(database_url=database_url, router_metrics_token="")
    async with running_router(settings) as router:
        response = await router.client.get("/metrics")

    assert response.status_code == 200


async def test_openmetrics_is_answered_to_a_scraper_that_asks_for_it(database_url: str) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        response = await router.client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        metrics = router.state.metrics

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    assert isinstance(metrics, PrometheusMetrics)


def test_metrics_is_not_part_of_the_api_description() -> None:
    paths = openapi_document()["paths"]

    assert "/metrics" not in paths
    assert {p for p in paths if p.startswith("/api/v1/monitoring")} == {
        "/api/v1/monitoring/queue",
        "/api/v1/monitoring/rate-limits",
        "/api/v1/monitoring/rate-limits/{phone_number_id}",
        "/api/v1/monitoring/circuits",
    }


def test_a_multiprocess_directory_that_does_not_exist_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))

    with pytest.raises(SettingsError, match=r"PROMETHEUS_MULTIPROC_DIR names .* not a directory"):
        create_app(make_settings())
