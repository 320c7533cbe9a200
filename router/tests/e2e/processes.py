"""Real processes for black-box tests: each service started as its README says, on a free port."""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uv() -> str:
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


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before it was healthy")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} was not healthy within {timeout} s")


@contextmanager
def service(
    name: str,
    env: dict[str, str],
    log_dir: Path,
    *,
    port: int | None = None,
    args: Sequence[str] = (),
) -> Iterator[Service]:
    """`uv run uvicorn app.main:app` in the service's folder, stopped with SIGTERM afterwards;
    `args` go to uvicorn (`--workers 2`)."""
    port = port or free_port()
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", **env}
    full_env.pop("VIRTUAL_ENV", None)  # each service runs in its own project's environment
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                uv(),
                "run",
                "--locked",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],
            cwd=REPO_ROOT / name,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        running = Service(name, f"http://127.0.0.1:{port}", log_path, process)
        try:
            wait_healthy(running.url, process, timeout=120)
            yield running
        except Exception:
            print(f"--- {name} log ---\n{running.logs()}")
            raise
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def in_thread(app: FastAPI) -> Iterator[str]:
    """Serve an ASGI app from this test process on a free port (a stand-in for an outside party)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in did not start"
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
