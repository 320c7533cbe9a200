"""The files under test, read as compose, Prometheus and Grafana read them."""

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = REPO / "docker-compose.yml"
RABBITMQ_FILE = DEPLOY / "compose.rabbitmq.yml"
PROMETHEUS_DIR = DEPLOY / "prometheus"
GRAFANA_DIR = DEPLOY / "grafana"


def load_yaml(path: Path) -> Any:
    """PyYAML's safe loader, which resolves anchors and `<<` merge keys as compose does."""
    return yaml.safe_load(path.read_text())


VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolated(text: str) -> str:
    """`text` as compose gives it to a container: `${NAME:-default}` is its default (nothing in
    the environment here), a required `${NAME:?...}` or plain `${NAME}` a stand-in value."""

    def value(match: re.Match[str]) -> str:
        if match["op"] == ":-":
            return match["arg"]
        return f"{match['name'].lower()}-value"

    return VARIABLE.sub(value, text)


def merged(base: Any, override: Any) -> Any:
    """`docker compose -f base -f override`, for what these files use: mappings merge key by key,
    anything else in the override replaces the base's."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: merged(base[k], v) if k in base else v for k, v in override.items()} | {
            k: v for k, v in base.items() if k not in override
        }
    return override


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return loaded


@pytest.fixture(scope="session")
def compose_with_rabbitmq(compose: dict[str, Any]) -> dict[str, Any]:
    combined: dict[str, Any] = merged(compose, load_yaml(RABBITMQ_FILE))
    return combined


def promtool() -> str:
    """promtool (Debian's `prometheus` package), or a skip; CI installs it, so there it must be."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed (apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found
