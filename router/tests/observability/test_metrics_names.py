"""The router exposes exactly the metrics the dashboard and the alerts are written against
(`deploy/tests/router_metrics.py`, issue 14's names and labels), and no label of them carries a
contact's number."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import respx
from prometheus_client import generate_latest

from app.observability.exposition import new_metrics
from app.observability.metrics import PrometheusMetrics

from ..conftest import APP_SECRET, make_settings, running_router
from ..graph_api import GraphApi, accepted, meta_error
from ..meta import WA_ID, signed, status_update, text_message
from ..support import scrape

LIST = Path(__file__).resolve().parents[3] / "deploy" / "tests" / "router_metrics.py"
# What prometheus_client adds of its own: the process's CPU, memory and GC, and when a counter's
# or a histogram's series was made.
STANDARD_PREFIXES = ("process_", "python_")


def deploy_list() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_router_metrics", LIST)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are made
    spec.loader.exec_module(module)
    return module


async def test_the_metrics_are_the_ones_the_dashboard_uses(
    server_route: respx.Route, graph_route: GraphApi, database_url: str
) -> None:
    # Enough happens for every metric to have a series: a reply sent, its status, a refusal.
    sends = iter([accepted("wamid.reply"), meta_error(400, 131047, "Re-engagement message")])
    graph_route.mock(side_effect=lambda _: next(sends))
    async with running_router(make_settings(database_url=database_url)) as router:
        for n in range(2):
            body, headers = signed(APP_SECRET, text_message(f"wamid.in.{n}", "hi"))
            await router.client.post("/webhook", content=body, headers=headers)
            await router.settle()
        body, headers = signed(APP_SECRET, status_update("wamid.reply", "delivered"))
        await router.client.post("/webhook", content=body, headers=headers)
        scraped = await scrape(router.client)

    exposed: dict[str, tuple[str, frozenset[str]]] = {}
    for (sample, labels), _ in scraped.samples.items():
        if sample.startswith(STANDARD_PREFIXES) or sample.endswith("_created"):
            continue
        name, kind = family_of(sample, scraped.types)
        names = frozenset(label for label, _ in labels) - {"le"}
        _, known = exposed.get(name, (kind, names))
        exposed[name] = (kind, known | names)
    listed = deploy_list().METRICS

    assert exposed == {name: (m.kind, m.labels) for name, m in listed.items()}
    assert all(WA_ID not in value for (_, labels) in scraped.samples for _, value in labels)


def family_of(sample: str, types: dict[str, str]) -> tuple[str, str]:
    """The metric a sample belongs to, as the list names it (a counter with `_total`), and its
    type."""
    for suffix in ("_total", "_bucket", "_count", "_sum", ""):
        base = sample.removesuffix(suffix) if suffix else sample
        if base != sample or not suffix:
            kind = types.get(base)
            if kind is not None:
                return (sample if kind == "counter" else base), kind
    raise AssertionError(f"{sample} belongs to no family of the scrape")


def test_a_metric_with_no_series_yet_is_still_described() -> None:
    """Prometheus learns each family's type and help from the first scrape, series or not."""
    metrics = new_metrics(make_settings())
    assert isinstance(metrics, PrometheusMetrics)
    assert metrics.registry is not None
    text = generate_latest(metrics.registry).decode()
    for name in deploy_list().METRICS:
        if name.startswith("router_queue_"):
            continue  # read from the store at scrape time
        assert f"# TYPE {name} " in text, name
