"""deploy/prometheus/alerts.yml: the alerts worth having, on the router's metrics only (and
Prometheus's `up`), each with what to do about it; promtool agrees."""

import subprocess
from typing import Any

import pytest

from tests.conftest import PROMETHEUS_DIR, load_yaml, promtool
from tests.promql import problems, reads
from tests.router_metrics import series_labels

RULES = PROMETHEUS_DIR / "alerts.yml"


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    groups = load_yaml(RULES)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_rule_reads_only_the_router_s_metrics(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        found = problems(rule["expr"], lambda name: series_labels(name, allow_up=True))
        assert found == [], (rule["alert"], found)


def test_every_rule_says_how_bad_and_what_to_do(rules: list[dict[str, Any]]) -> None:
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["for"], rule["alert"]  # never on one scrape's blip
        assert rule["annotations"]["summary"], rule["alert"]
        assert len(rule["annotations"]["description"]) > 40, rule["alert"]


@pytest.mark.parametrize(
    ("metric", "selects"),
    [
        ("router_queue_oldest_age_seconds", ""),
        ("router_graph_errors_total", 'code="130429"'),
        ("router_circuit_state", ""),
        ("router_webhook_requests_total", 'outcome="unavailable"'),
        ("up", 'job="router"'),
    ],
    ids=["queue age", "130429 rate", "circuit open", "webhook 5xx", "router down"],
)
def test_the_issue_s_alerts_are_there(
    rules: list[dict[str, Any]], metric: str, selects: str
) -> None:
    assert any(metric in reads(r["expr"]).names and selects in r["expr"] for r in rules)


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
