"""prometheus_client's multiprocess mode: router processes that share PROMETHEUS_MULTIPROC_DIR
are added up by whichever of them a scrape reaches, as uvicorn's `--workers N` needs."""

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..meta import PHONE_NUMBER_ID, signed, text_message
from ..support import REPO_ROOT, Scrape, Service, in_thread, parse, service, uv, wait_until_sync
from .graph_standin import GraphStandIn

pytestmark = pytest.mark.e2e

APP_SECRET = "e2e-metrics-secret-71c2"
ACCESS_TOKEN = "e2e-metrics-token-0b4e"


@pytest.fixture
def graph() -> Iterator[tuple[GraphStandIn, str]]:
    standin = GraphStandIn(ACCESS_TOKEN)
    with in_thread(standin.app) as url:
        yield standin, url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Service]:
    with service("server", {}, tmp_path) as running:
        yield running


def router_env(
    graph_url: str, server: Service, database: Path, metrics_dir: Path
) -> dict[str, str]:
    return {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "e2e-metrics-verify",
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_GRAPH_API_URL": graph_url,
        "SERVER_BASE_URL": server.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "WARNING",
    }


def post(router: Service, payload: Any, *, signed_by: str | None = APP_SECRET) -> int:
    body, headers = signed(signed_by or "", payload)
    if signed_by is None:
        del headers["X-Hub-Signature-256"]
    return httpx.post(f"{router.url}/webhook", content=body, headers=headers, timeout=5).status_code


def scrape(router: Service) -> Scrape:
    response = httpx.get(f"{router.url}/metrics", timeout=5)
    assert response.status_code == 200
    return parse(response.text)


def replies(graph: GraphStandIn, count: int, timeout: float = 30) -> None:
    wait_until_sync(lambda: len(graph.sent) >= count, timeout, what=f"{count} replies sent")


def writers(metrics_dir: Path) -> set[str]:
    """The processes that wrote counters to the directory (prometheus_client names its files
    `<type>_<pid>.db`)."""
    return {m[1] for f in metrics_dir.iterdir() if (m := re.match(r"counter_(\d+)\.db$", f.name))}


def test_two_router_processes_on_one_directory_are_scraped_as_one(
    graph: tuple[GraphStandIn, str], server: Service, tmp_path: Path
) -> None:
    standin, graph_url = graph
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    first_env = router_env(graph_url, server, tmp_path / "first.db", metrics_dir)
    second_env = router_env(graph_url, server, tmp_path / "second.db", metrics_dir)
    with (
        service("router", first_env, logs(tmp_path, "first")) as first,
        service("router", second_env, logs(tmp_path, "second")) as second,
    ):
        codes = [post(first, text(f"a{n}", f"155500010{n}")) for n in range(2)]
        codes += [post(second, text(f"b{n}", f"155500020{n}")) for n in range(3)]
        codes.append(post(second, text("c", "1555000300"), signed_by=None))
        replies(standin, 5)
        from_first, from_second = scrape(first), scrape(second)
        processes = writers(metrics_dir)

    assert codes == [200] * 5 + [401]
    assert len(processes) == 2
    for scraped in (from_first, from_second):
        assert scraped.value("router_webhook_requests_total", outcome="accepted") == 5
        assert scraped.value("router_webhook_requests_total", outcome="unsigned") == 1
        assert scraped.value("router_webhook_ack_seconds_count") == 5
        # What the work cost, the serving process's own (each sent a Server call and a reply).
        assert scraped.value("router_http_client_requests_total") >= 4
        assert scraped.value("router_asyncio_tasks_created_total") > 0
        assert scraped.value("router_db_commits_total") > 0
        assert scraped.value("router_messages_total", direction="inbound", status="replied") == 5
        ok = {"phone_number_id": PHONE_NUMBER_ID, "outcome": "ok"}
        assert scraped.value("router_graph_requests_total", **ok) == 5
        assert scraped.value("router_backend_request_seconds_count", agent="server") == 5
        # One series for the breaker, the worst of the processes alive: no process label.
        circuit = [k for k in scraped.samples if k[0] == "router_circuit_state"]
        assert circuit == [("router_circuit_state", frozenset({("name", "server")}))]
        assert scraped.value("router_circuit_state", name="server") == 0
        assert scraped.value("router_queue_depth") == 0


def test_uvicorn_workers_on_one_directory_count_every_request(
    graph: tuple[GraphStandIn, str], server: Service, tmp_path: Path
) -> None:
    standin, graph_url = graph
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = router_env(graph_url, server, tmp_path / "router.db", metrics_dir)
    # Two workers must not both migrate one store at start: migrated once, before, as make does.
    migrate = {**os.environ, **env, "UV_PYTHON_DOWNLOADS": "never"}
    migrate.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [uv(), "run", "--locked", "python", "-m", "alembic", "upgrade", "head"],
        cwd=REPO_ROOT / "router",
        env=migrate,
        check=True,
        capture_output=True,
    )
    env["ROUTER_MIGRATE_ON_START"] = "false"
    with service("router", env, tmp_path, args=["--workers", "2"]) as router:
        # A new connection each: the kernel hands each to either worker, and each scrape
        # reaches either; whichever answers, it counts them all.
        codes = [post(router, text(f"w{n}", f"15550003{n:02d}")) for n in range(20)]
        replies(standin, 20)
        scrapes = [scrape(router) for _ in range(6)]
        processes = writers(metrics_dir)

    assert codes == [200] * 20
    assert len(processes) == 2  # each worker writes its own files
    for scraped in scrapes:
        assert scraped.value("router_webhook_requests_total", outcome="accepted") == 20
        assert scraped.value("router_messages_total", direction="inbound", status="received") == 20


def text(name: str, wa_id: str) -> dict[str, Any]:
    return text_message(f"wamid.mp.{name}", "hi", wa_id=wa_id)


def logs(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder
