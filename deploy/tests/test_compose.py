"""docker-compose.yml's profiles, checked as compose would resolve them (no Docker engine here):
which services each profile starts, what they wait for, and what the scale-out shares."""

import itertools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import GRAFANA_DIR, REPO, interpolated, load_yaml

PROFILES = ["simple", "demo", "scale", "observability"]
# The combinations the README documents (the simple and the scale profile publish the same port,
# the router's: never both).
DOCUMENTED = [
    {"simple"},
    {"demo"},
    {"scale"},
    {"simple", "observability"},
    {"demo", "observability"},
    {"scale", "observability"},
]
SCALED_ROUTERS = ["router-webhook", "router-worker"]


def enabled(compose: dict[str, Any], profiles: set[str]) -> set[str]:
    """The services `docker compose up` starts with these profiles."""
    return {
        name
        for name, service in compose["services"].items()
        if not service.get("profiles") or profiles & set(service["profiles"])
    }


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment as its container gets it (the .env file aside)."""
    return {k: interpolated(str(v)) for k, v in (service.get("environment") or {}).items()}


def host_ports(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, host port) of each published port: '127.0.0.1:8000:8000'."""
    return [tuple(p.split(":")[:2]) for p in service.get("ports", [])]


@pytest.mark.parametrize(
    ("profiles", "services"),
    [
        ({"simple"}, {"router", "server"}),
        ({"demo"}, {"router", "server", "simulator"}),
        (
            {"scale"},
            {"postgres", "redis", "migrate", "router-webhook", "router-worker", "server"},
        ),
        ({"observability"}, {"grafana", "jaeger", "prometheus", "server"}),
    ],
)
def test_each_profile_starts_its_services(
    compose: dict[str, Any], profiles: set[str], services: set[str]
) -> None:
    assert enabled(compose, profiles) == services


def test_the_simple_router_keeps_its_embedded_store_and_queue(compose: dict[str, Any]) -> None:
    router = environment(compose["services"]["router"])

    assert "DATABASE_URL" not in router
    assert "QUEUE_URL" not in router
    assert "router-data:/app/data" in compose["services"]["router"]["volumes"]


def test_every_dependency_is_started_with_its_dependent(compose: dict[str, Any]) -> None:
    for count in range(len(PROFILES) + 1):
        for chosen in itertools.combinations(PROFILES, count):
            running = enabled(compose, set(chosen))
            for name in running:
                needs = set(compose["services"][name].get("depends_on", {}))
                assert needs <= running, f"{name} with {chosen} needs {needs - running}"


@pytest.mark.parametrize("profiles", DOCUMENTED, ids=lambda p: "+".join(sorted(p)))
def test_published_ports_are_loopback_and_never_shared(
    compose: dict[str, Any], profiles: set[str]
) -> None:
    published = [
        (port, name)
        for name in enabled(compose, profiles)
        for port in host_ports(compose["services"][name])
    ]

    assert all(address == "127.0.0.1" for (address, _), _ in published), published
    ports = [port for port, _ in published]
    assert len(ports) == len(set(ports)), published


def test_every_lasting_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "migrate":
            assert service["healthcheck"] == {"disable": True}
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_the_stores_keep_their_data_in_volumes(compose: dict[str, Any]) -> None:
    volumes = set(compose["volumes"])
    for name, mount in [
        ("postgres", "/var/lib/postgresql/data"),
        ("redis", "/data"),
        ("prometheus", "/prometheus"),
        ("grafana", "/var/lib/grafana"),
    ]:
        named = [v.split(":")[0] for v in compose["services"][name]["volumes"]]
        targets = [v.split(":")[1] for v in compose["services"][name]["volumes"]]
        assert mount in targets, name
        assert named[targets.index(mount)] in volumes, name
    assert "--appendonly" in compose["services"]["redis"]["command"]


def test_migrations_run_once_before_any_scaled_router(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]

    assert migrate["command"] == ["python", "-m", "alembic", "upgrade", "head"]
    assert migrate["build"] == services["router"]["build"]  # the router's image has alembic
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    for name in SCALED_ROUTERS:
        router = services[name]
        assert router["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert router["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert router["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert environment(router)["ROUTER_MIGRATE_ON_START"] == "false"
        assert environment(router)["DATABASE_URL"] == environment(migrate)["DATABASE_URL"]


def test_one_webhook_router_and_n_workers_share_the_store_and_queue(
    compose: dict[str, Any],
) -> None:
    webhook, worker = (environment(compose["services"][n]) for n in SCALED_ROUTERS)

    assert webhook.pop("ROUTER_PROCESS_JOBS") == "false"
    assert "ROUTER_PROCESS_JOBS" not in worker  # the default: true
    # Each kind names itself in the traces.
    assert webhook.pop("OTEL_SERVICE_NAME") == "router-webhook"
    assert worker.pop("OTEL_SERVICE_NAME") == "router-worker"
    assert webhook == worker
    assert worker["DATABASE_URL"].startswith("postgresql+asyncpg://router:")
    assert worker["DATABASE_URL"].endswith("@postgres:5432/router")
    assert worker["QUEUE_URL"] == "redis://redis:6379/0"
    assert compose["services"]["router-worker"]["deploy"]["replicas"] == (
        "${ROUTER_WORKER_REPLICAS:-2}"
    )
    assert "ports" not in compose["services"]["router-worker"]  # replicas cannot share one
    assert host_ports(compose["services"]["router-webhook"]) == [("127.0.0.1", "8000")]


def test_every_scaled_router_and_the_migration_share_one_key_ring(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in [*SCALED_ROUTERS, "migrate"]:
        # Passed on, not required: compose reads every service's variables whatever the profile,
        # and the simple profile starts without it.
        keys = services[name]["environment"]["ROUTER_ENCRYPTION_KEYS"]
        assert keys == "${ROUTER_ENCRYPTION_KEYS:-}", name
        # Unset, the key file the first of them makes, in a volume they all mount.
        assert "scaled-router-data:/app/data" in services[name]["volumes"], name
    assert "scaled-router-data" in compose["volumes"]


def test_the_database_credentials_agree(compose: dict[str, Any]) -> None:
    postgres = environment(compose["services"]["postgres"])
    url = urlsplit(environment(compose["services"]["migrate"])["DATABASE_URL"])

    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path == f"/{postgres['POSTGRES_DB']}"


def test_the_rabbitmq_override_moves_the_scaled_routers_queue(
    compose_with_rabbitmq: dict[str, Any],
) -> None:
    services = compose_with_rabbitmq["services"]
    rabbitmq = environment(services["rabbitmq"])

    assert services["rabbitmq"]["profiles"] == ["scale"]
    assert "rabbitmq-data" in compose_with_rabbitmq["volumes"]
    for name in SCALED_ROUTERS:
        router = environment(services[name])
        url = urlsplit(router["QUEUE_URL"])
        assert url.scheme == "amqp"
        assert url.hostname == "rabbitmq"
        assert url.username == rabbitmq["RABBITMQ_DEFAULT_USER"]
        assert url.password == rabbitmq["RABBITMQ_DEFAULT_PASS"]
        assert url.path == f"/{rabbitmq['RABBITMQ_DEFAULT_VHOST']}"
        # RabbitMQ keeps no rate limit: the budget per number stays shared in Redis.
        assert router["ROUTER_RATE_LIMIT_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
        # What the base file gave them is still there.
        assert services[name]["depends_on"]["migrate"]
        assert router["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert enabled(compose_with_rabbitmq, {"scale"}) >= {"rabbitmq", "redis", "postgres"}


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of the service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = REPO / source
    return found


def test_grafana_finds_its_provisioning_and_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounted = mounts(grafana)
    providers = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml")

    assert mounted["/etc/grafana/provisioning"] == GRAFANA_DIR / "provisioning"
    (provider,) = providers["providers"]
    dashboards = mounted[provider["options"]["path"]]
    assert dashboards == GRAFANA_DIR / "dashboards"
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (dashboards / Path(home).relative_to(provider["options"]["path"])).is_file()


def test_prometheus_finds_its_configuration(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    mounted = mounts(prometheus)
    (config,) = [a.split("=", 1)[1] for a in prometheus["command"] if a.startswith("--config")]

    folder = mounted[str(Path(config).parent)]
    assert (folder / Path(config).name).is_file()


def test_jaeger_takes_otlp_from_other_containers(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["jaeger"]["command"])

    assert re.search(r"otlp\.protocols\.http\.endpoint=0\.0\.0\.0:4318", command)
    assert re.search(r"otlp\.protocols\.grpc\.endpoint=0\.0\.0\.0:4317", command)
