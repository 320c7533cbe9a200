"""deploy/prometheus/prometheus.yml: every job scrapes services that exist, on the port they serve,
each router process on its own; promtool agrees."""

import re
import subprocess
from typing import Any

import pytest

from tests.conftest import PROMETHEUS_DIR, interpolated, load_yaml, promtool

CONFIG = PROMETHEUS_DIR / "prometheus.yml"
# Ports of metrics endpoints the compose file does not otherwise show: RabbitMQ's exporter
# plugin, and services that publish nothing (their healthcheck names the port).
EXPORTER_PORTS = {"rabbitmq": {15692}}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(CONFIG)
    return loaded


def targets(job: dict[str, Any]) -> list[tuple[str, int]]:
    """(compose service, port) of each target the job can find."""
    found = []
    for dns in job.get("dns_sd_configs", []):
        assert dns["type"] == "A"
        found += [(name, int(dns["port"])) for name in dns["names"]]
    for static in job.get("static_configs", []):
        for target in static["targets"]:
            host, port = target.rsplit(":", 1)
            found.append((host, int(port)))
    return found


def served_ports(service: dict[str, Any]) -> set[int]:
    """The container ports the service publishes, and the one its healthcheck asks."""
    ports = {int(p.split(":")[-1]) for p in service.get("ports", [])}
    probe = " ".join(service.get("healthcheck", {}).get("test", []))
    ports |= {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", probe)}
    return ports


def test_every_job_targets_a_service_of_the_compose_files(
    config: dict[str, Any], compose_with_rabbitmq: dict[str, Any]
) -> None:
    services = compose_with_rabbitmq["services"]
    for job in config["scrape_configs"]:
        assert targets(job), job["job_name"]
        for name, port in targets(job):
            assert name in services, f"{job['job_name']}: no service {name}"
            ports = served_ports(services[name]) | EXPORTER_PORTS.get(name, set())
            assert port in ports, f"{job['job_name']}: {name} serves {ports}, not {port}"


def test_every_service_with_metrics_is_scraped(
    config: dict[str, Any], compose_with_rabbitmq: dict[str, Any]
) -> None:
    scraped = {name for job in config["scrape_configs"] for name, _ in targets(job)}
    unscraped = set(compose_with_rabbitmq["services"]) - scraped

    # Migrations exit; the stores and Jaeger have no /metrics of their own (an exporter each,
    # postgres_exporter and redis_exporter, would add them).
    assert unscraped == {"migrate", "postgres", "redis", "jaeger"}


def test_each_router_process_is_a_target_of_its_own(
    config: dict[str, Any], compose: dict[str, Any]
) -> None:
    (router,) = [job for job in config["scrape_configs"] if job["job_name"] == "router"]

    # DNS service discovery: each replica's address is a target, not one address for all.
    assert {name for name, _ in targets(router)} == {"router", "router-webhook", "router-worker"}
    assert "static_configs" not in router
    assert {"source_labels": ["__meta_dns_name"], "target_label": "service"} in router[
        "relabel_configs"
    ]
    replicas = interpolated(compose["services"]["router-worker"]["deploy"]["replicas"])
    assert int(replicas) >= 2


def test_the_rules_are_loaded(config: dict[str, Any]) -> None:
    assert config["rule_files"] == ["alerts.yml"]
    assert (PROMETHEUS_DIR / "alerts.yml").is_file()


def test_promtool_accepts_the_configuration() -> None:
    result = subprocess.run(
        [promtool(), "check", "config", str(CONFIG)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
