"""The checks below are only as good as the reader of PromQL under them: it must catch a wrong
metric name, a label the metric does not have, and a grouping by such a label."""

import pytest

from tests.promql import problems, reads
from tests.router_metrics import series_labels


def labels_of(name: str) -> frozenset[str] | None:
    return series_labels(name, allow_up=True)


def test_a_good_expression_reads_its_series_and_groupings() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, phone_number_id) "
        "(rate(router_rate_limit_wait_seconds_bucket{service=~'router.*'}[$__rate_interval])))"
    )

    found = reads(expr)

    assert found.names == {"router_rate_limit_wait_seconds_bucket"}
    assert found.grouping == {"le", "phone_number_id"}
    assert problems(expr, labels_of) == []


@pytest.mark.parametrize(
    ("expr", "complaint"),
    [
        ("sum(rate(router_webhook_request_total[5m]))", "is not one of the metrics"),
        ("rate(router_graph_errors_total{error_code='130429'}[5m])", "has no label error_code"),
        ("sum by (phone) (rate(router_graph_requests_total[5m]))", "groups by labels"),
        ("router_queue_depth_bucket", "is not one of the metrics"),
        ("router_webhook_ack_seconds", "is not one of the metrics"),  # a histogram's own name
        ("sum(rate(router_queue_depth[5m]", "not PromQL"),
        ("vector(1)", "selects no series"),
    ],
)
def test_a_wrong_expression_is_named(expr: str, complaint: str) -> None:
    found = problems(expr, labels_of)

    assert any(complaint in problem for problem in found), found


def test_up_is_only_allowed_where_asked() -> None:
    assert problems("up == 0", labels_of) == []
    assert problems("up == 0", lambda name: series_labels(name, allow_up=False)) != []
