"""What a PromQL expression reads: the series it selects, with the labels it matches on, and the
labels it groups by. Parsed by promql-parser (Prometheus's grammar), never by a regular
expression."""

from dataclasses import dataclass, field
from typing import Any

import promql_parser

# Grafana's variables, given a value Prometheus would accept, so the query parses.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


@dataclass
class Reads:
    # Each selected series: its name and the labels its matchers name.
    selectors: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    # Labels named in `by (...)`, `without (...)`, `on (...)`, `ignoring (...)`, `group_*(...)`.
    grouping: set[str] = field(default_factory=set)

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self.selectors}


def reads(expr: str) -> Reads:
    """Raises ValueError when the expression is not valid PromQL."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    found = Reads()
    _walk(promql_parser.parse(expr), found)
    return found


def _walk(node: Any, found: Reads) -> None:
    if isinstance(node, promql_parser.VectorSelector):
        matchers = [*node.matchers.matchers, *(m for ms in node.matchers.or_matchers for m in ms)]
        names = [m.value for m in matchers if m.name == "__name__"]
        name = node.name or (names[0] if names else "")
        found.selectors.append((name, frozenset(m.name for m in matchers if m.name != "__name__")))
    elif isinstance(node, promql_parser.MatrixSelector):
        _walk(node.vector_selector, found)
    elif isinstance(node, promql_parser.Call):
        for argument in node.args:
            _walk(argument, found)
    elif isinstance(node, promql_parser.AggregateExpr):
        if node.modifier is not None:
            found.grouping.update(node.modifier.labels)
        _walk(node.expr, found)
        if node.param is not None:
            _walk(node.param, found)
    elif isinstance(node, promql_parser.BinaryExpr):
        modifier = node.modifier
        if modifier is not None:
            if modifier.matching is not None:
                found.grouping.update(modifier.matching.labels)
            found.grouping.update(modifier.group_labels or [])
        _walk(node.lhs, found)
        _walk(node.rhs, found)
    elif isinstance(
        node, promql_parser.UnaryExpr | promql_parser.ParenExpr | promql_parser.SubqueryExpr
    ):
        _walk(node.expr, found)
    elif not isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        raise TypeError(f"a PromQL node this reader does not know: {type(node).__name__}")


def problems(expr: str, labels_of: Any) -> list[str]:
    """What is wrong in `expr` for a list of known series: `labels_of(name)` gives the labels a
    series may carry, or None for a series that is not known."""
    try:
        found = reads(expr)
    except ValueError as exc:
        return [f"not PromQL ({exc}): {expr}"]
    wrong = []
    allowed: set[str] = set()
    for name, matched in found.selectors:
        labels = labels_of(name)
        if labels is None:
            wrong.append(f"{name!r} is not one of the metrics")
            continue
        allowed |= labels
        if not matched <= labels:
            wrong.append(f"{name} has no label {', '.join(sorted(matched - labels))}")
    if not found.selectors:
        wrong.append(f"selects no series: {expr}")
    if allowed and not found.grouping <= allowed:
        wrong.append(f"groups by labels no series has: {sorted(found.grouping - allowed)}")
    return wrong
