"""`GET /metrics`: the Server's requests, counted by route template and status, scraped as
Prometheus scrapes them."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.conftest import client_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Every sample of the scrape, by name and labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)

    for text in ("hello", "my number is 15551234567", "three"):
        assert (await client.post("/process", json={"text": text})).status_code == 200
    assert (await client.post("/process", json={"message": "hi"})).status_code == 422
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/15551234567/secret-token")).status_code == 404
    assert (await client.request("FOO", "/process")).status_code == 405
    after = await scrape(client)

    requests = "server_requests_total"
    assert moved(before, after, requests, method="POST", route="/process", status="200") == 3
    assert moved(before, after, requests, method="POST", route="/process", status="422") == 1
    assert moved(before, after, requests, method="GET", route="/health", status="200") == 1
    assert moved(before, after, requests, method="GET", route="unmatched", status="404") == 1
    assert moved(before, after, requests, method="other", route="/process", status="405") == 1
    # The first scrape is counted once it has answered, so the second sees it.
    assert moved(before, after, requests, method="GET", route="/metrics", status="200") == 1
    count = "server_request_seconds_count"
    assert moved(before, after, count, method="POST", route="/process") == 4
    assert moved(before, after, count, method="GET", route="unmatched") == 1
    bucket = "server_request_seconds_bucket"
    assert moved(before, after, bucket, method="POST", route="/process", le="+Inf") == 4


async def test_no_label_carries_what_the_caller_sent(client: httpx.AsyncClient) -> None:
    await client.post("/process", json={"text": "call me at 15551234567"})
    await client.get("/15551234567/secret-token?hub.verify_token=hunter2")

    text = (await client.get("/metrics")).text

    for sent in ("15551234567", "secret-token", "hunter2", "call me"):
        assert sent not in text


async def test_the_process_s_own_figures_are_there(client: httpx.AsyncClient) -> None:
    samples = await scrape(client)

    names = {name for name, _ in samples}
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= names
    assert "python_gc_collections_total" in names


async def test_a_request_that_raises_is_counted_as_the_500_it_got() -> None:
    app = create_app()

    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom", boom)
    async with client_for(app, raise_app_exceptions=False) as client:
        response = await client.get("/boom")
        samples = await scrape(client)

    assert response.status_code == 500
    labels = {"method": "GET", "route": "/boom", "status": "500"}
    assert samples[("server_requests_total", frozenset(labels.items()))] == 1
