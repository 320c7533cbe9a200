"""The Server, the Router and the Simulator as real processes, wired as `make demo` wires them."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from ..support import Service, free_port, service

PHONE_ID = "1122334455667"
ACCESS_TOKEN = "e2e-access-token-41d7"  # noqa: S105 - test values, made up here
APP_SECRET = "e2e-app-secret-9b0e"  # noqa: S105
VERIFY_TOKEN = "e2e-verify-token-27fa"  # noqa: S105
ADMIN_KEY = "e2e-admin-key-c85a"
# The reply the assignment fixes, as the Server words it.
REPLY = re.compile(
    r"^I received your message: '(?P<text>.*)' and here is a random number: (?P<n>\d+)$", re.S
)

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: starts the three services as real processes")


@dataclass
class System:
    server: Service
    router: Service
    simulator: Service
    sim: httpx.Client

    def new_user(self, wa_id: str, **fields: object) -> dict[str, Any]:
        response = self.sim.post("/sim/users", json={"name": "Test User", "wa_id": wa_id, **fields})
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()
        return user

    def replies_to(self, wa_id: str) -> list[dict[str, Any]]:
        """The messages the Router sent this user, as the Simulator recorded them."""
        response = self.sim.get("/sim/messages", params={"wa_id": wa_id, "direction": "outbound"})
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()
        return messages

    def reply_texts(self, wa_id: str) -> list[str]:
        return [m["payload"]["body"] for m in self.replies_to(wa_id) if m["type"] == "text"]


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    router_port, simulator_port = free_port(), free_port()
    router_url = f"http://127.0.0.1:{router_port}"
    simulator_url = f"http://127.0.0.1:{simulator_port}"
    # Every value is passed explicitly: the environment wins over a developer's .env.
    secrets = {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "LOG_FORMAT": "json",
    }
    simulator_env = {
        **secrets,
        "SIMULATOR_WEBHOOK_URL": f"{router_url}/webhook",
        "SIMULATOR_SENT_DELAY_MS": "50",
        "SIMULATOR_DELIVERED_DELAY_MS": "50",
        "SIMULATOR_READ_DELAY_MS": "100",
        "SIMULATOR_WEBHOOK_BACKOFF_MS": "20",
        "SIMULATOR_WEBHOOK_BACKOFF_MAX_MS": "100",
        "SIMULATOR_ERROR_RATE": "0",
        "SIMULATOR_WEBHOOK_DROP_RATE": "0",
        "SIMULATOR_WEBHOOK_DUPLICATE_RATE": "0",
        "SIMULATOR_LATENCY_MS": "0",
    }
    with service("server", {"LOG_FORMAT": "json"}, logs, port=free_port()) as server:
        router_env = {
            **secrets,
            "WHATSAPP_GRAPH_API_URL": simulator_url,
            "SERVER_BASE_URL": server.url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{logs / 'router.db'}",
            "QUEUE_URL": "memory://",
            "ROUTER_MIGRATE_ON_START": "true",
            "ROUTER_ALLOW_UNSIGNED_WEBHOOKS": "false",
            "ROUTER_ADMIN_API_KEY": ADMIN_KEY,
            "ROUTER_MEDIA_DIR": str(logs / "media"),
        }
        with (
            service("simulator", simulator_env, logs, port=simulator_port) as simulator,
            service("router", router_env, logs, port=router_port) as router,
            httpx.Client(base_url=simulator.url, timeout=30) as sim,
        ):
            yield System(server, router, simulator, sim)
            text = router.logs()
            for secret in (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, ADMIN_KEY):
                assert secret not in text, "a secret reached the router's log"
