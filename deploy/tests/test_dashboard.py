"""deploy/grafana/dashboards/router.json: valid, laid out, on the provisioned Prometheus, and
every query on the router's metrics as the issue names them."""

import json
from typing import Any

import pytest

from tests.conftest import GRAFANA_DIR, load_yaml
from tests.promql import problems, reads
from tests.router_metrics import series_labels

DASHBOARD = GRAFANA_DIR / "dashboards" / "router.json"
WIDTH = 24


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


@pytest.fixture(scope="module")
def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


@pytest.fixture(scope="module")
def queries(panels: list[dict[str, Any]]) -> list[str]:
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_every_query_reads_only_the_router_s_metrics(panels: list[dict[str, Any]]) -> None:
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            found = problems(target["expr"], lambda name: series_labels(name, allow_up=False))
            assert found == [], (panel["title"], found)


def test_every_panel_uses_a_provisioned_data_source(panels: list[dict[str, Any]]) -> None:
    provisioned = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "datasources.yml")
    uids = {(d["type"], d["uid"]) for d in provisioned["datasources"]}

    for panel in panels:
        sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
        assert all((s["type"], s["uid"]) in uids for s in sources), panel["title"]


def test_panels_have_ids_of_their_own_and_do_not_overlap(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= WIDTH, panel["title"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
    for panel in dashboard["panels"]:
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_the_dashboard_is_provisioned_under_a_fixed_uid(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "whatsapp-router"
    assert dashboard["title"]


@pytest.mark.parametrize(
    ("what", "metric", "text"),
    [
        ("webhook rate", "router_webhook_requests_total", "rate("),
        ("ack p99", "router_webhook_ack_seconds_bucket", "histogram_quantile(0.99"),
        ("replies/s", "router_messages_total", 'direction="outbound", status="accepted"'),
        ("queue depth", "router_queue_depth", ""),
        ("queue age", "router_queue_oldest_age_seconds", ""),
        ("Graph errors by code", "router_graph_errors_total", "by (code)"),
        ("circuit state", "router_circuit_state", ""),
        ("per-number send rate", "router_graph_requests_total", "by (phone_number_id"),
    ],
)
def test_the_issue_s_panels_are_there(
    queries: list[str], what: str, metric: str, text: str
) -> None:
    assert any(metric in reads(q).names and text in q for q in queries), what


def test_the_circuit_panel_names_each_state(panels: list[dict[str, Any]]) -> None:
    (circuit,) = [p for p in panels if "router_circuit_state" in p["targets"][0]["expr"]]
    (mapping,) = circuit["fieldConfig"]["defaults"]["mappings"]

    texts = {value: m["text"] for value, m in mapping["options"].items()}
    assert texts == {"0": "closed", "1": "half-open", "2": "open"}
