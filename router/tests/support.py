"""What the tests of every service need alike: waiting on a condition, the services as real
processes (e2e tests, benchmarks) and reading `GET /metrics` as Prometheus does.

This file is the same in the three services (tests/test_shared_files.py holds the copies equal):
change all three.
"""

import asyncio
import inspect
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")

# The folder holding the three services: this file is <service>/tests/support.py.
REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 120.0


# Waiting on a condition ---------------------------------------------------------------------------


def _timed_out(what: str | None, timeout: float, last: object) -> AssertionError:
    subject = what or "the condition"
    return AssertionError(f"timed out after {timeout} s waiting for {subject} (last: {last!r})")


async def wait_until(
    predicate: Callable[[], Any],  # a value, or an awaitable of one
    timeout: float = 10,  # noqa: ASYNC109, RUF100 - bounds the polling (not in every service's rules)
    interval: float = 0.01,
    what: str | None = None,
) -> Any:
    """Calls `predicate` (sync or async) until it gives something truthy, and returns that; an
    AssertionError naming `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = predicate()
        result = await outcome if inspect.isawaitable(outcome) else outcome
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, result)
        await asyncio.sleep(interval)


def wait_until_sync(
    predicate: Callable[[], T],
    timeout: float = 10,
    interval: float = 0.05,
    what: str | None = None,
) -> T:
    """`wait_until` for a test without an event loop (a thread, a real process): blocks."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, result)
        time.sleep(interval)


# Services as real processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uv() -> str:
    """The uv that starts the services: $UV, else the one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is needed to start the services"
    return found


@dataclass
class Service:
    name: str
    url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_healthy(
    url: str, process: subprocess.Popen[bytes] | None, timeout: float = START_TIMEOUT_SECONDS
) -> None:
    """Until `url`/health answers 200; a RuntimeError as soon as `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before it was healthy")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} was not healthy within {timeout} s")


@contextmanager
def service(
    name: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    port: int | None = None,
    args: Sequence[str] = (),
    cwd: Path | None = None,
) -> Iterator[Service]:
    """`uv run --locked uvicorn app.main:app` in the service's folder (`cwd`, else the folder
    `name` beside this one), its own process group, /health before use, SIGTERM to the whole group
    afterwards; `args` go to uvicorn (`--workers 2`). On any failure, a test's timeout included,
    the service's log is printed."""
    port = port or free_port()
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", **env}
    full_env.pop("VIRTUAL_ENV", None)  # each service runs in its own project's environment
    command = [uv(), "run", "--locked", "uvicorn", "app.main:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), *args]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603, RUF100 - our own command, no shell
            command,
            cwd=cwd or REPO_ROOT / name,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        running = Service(name, f"http://127.0.0.1:{port}", log_path, process)
        try:
            wait_healthy(running.url, process)
            yield running
        except BaseException:  # pytest-timeout's and pytest.fail's are not Exceptions
            print(f"--- {name} log ---\n{running.logs()}")
            raise
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group, SIGKILL after 15 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def in_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app from this test process on a free port (a stand-in for an outside party);
    its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until_sync(lambda: server.started, timeout=10, interval=0.02, what="the stand-in")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# Metrics ------------------------------------------------------------------------------------------

Key = tuple[str, frozenset[tuple[str, str]]]
# The router's counters of what its process's work cost (router/app/core/costs.py).
PROCESS_COSTS = frozenset(
    {
        "router_db_statements_total",
        "router_db_commits_total",
        "router_http_client_requests_total",
        "router_asyncio_tasks_created_total",
        "router_log_lines_total",
    }
)


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape, and each family's type by its name."""

    samples: dict[Key, float] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def value(self, metric: str, /, **labels: str) -> float:
        """A sample's value; 0 for a series not (yet) exposed."""
        return self.samples.get((metric, frozenset(labels.items())), 0.0)

    def since(self, before: "Scrape", metric: str, /, **labels: str) -> float:
        """How far one series moved since `before`."""
        return self.value(metric, **labels) - before.value(metric, **labels)

    def has(self, name: str) -> bool:
        return any(sample_name == name for sample_name, _ in self.samples)

    def __sub__(self, before: "Scrape") -> dict[Key, float]:
        """What moved since `before`, series by series: the router's own (not the process's CPU
        and memory, nor when a series was made: `_created`, nor what the process's work cost,
        which every app in it adds to), those that did not move left out."""
        keys = {
            key
            for key in self.samples.keys() | before.samples.keys()
            if key[0].startswith("router_")
            and not key[0].endswith("_created")
            and key[0] not in PROCESS_COSTS
        }
        moved = {key: self.samples.get(key, 0.0) - before.samples.get(key, 0.0) for key in keys}
        return {key: delta for key, delta in moved.items() if delta}

    def since_start(self) -> dict[Key, float]:
        """The router's series that are not 0: what moved since the router started."""
        return self - Scrape()


def parse(text: str) -> Scrape:
    scrape = Scrape()
    for family in text_string_to_metric_families(text):
        scrape.types[family.name] = family.type
        for sample in family.samples:
            scrape.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return scrape


async def scrape(
    client: httpx.AsyncClient, headers: Mapping[str, str] | None = None, *, version: str = "0.0.4"
) -> Scrape:
    """`GET /metrics` on `client`, parsed; it must answer in Prometheus' text format, of `version`
    ("" for any)."""
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(f"text/plain; version={version}")
    return parse(response.text)


def key(metric: str, /, **labels: str) -> Key:
    return (metric, frozenset(labels.items()))


def messages_moved(moves: Mapping[Key, float]) -> dict[Key, float]:
    """Of what moved, router_messages_total's series."""
    return {k: v for k, v in moves.items() if k[0] == "router_messages_total"}
