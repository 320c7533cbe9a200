"""The Server as a real process, started the way the Router's benchmark starts it, and its CPU."""

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import service, uv

SERVER_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Running:
    url: str
    pid: int  # the Python process that serves (uvicorn's), not `uv` that started it
    log_path: Path


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses): the
    fields from `state` on, so field N of proc(5) is at index N - 3."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def python_child(process_group: int) -> int | None:
    """The one process of the group that is not `uv` itself."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(stat_fields(int(entry.name))[2]) != process_group:
                continue
            name = (entry / "comm").read_text().strip()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # gone meanwhile
        if name != "uv":
            return int(entry.name)
    return None


@contextmanager
def server(env: dict[str, str], log_dir: Path) -> Iterator[Running]:
    """`uv run uvicorn app.main:app` in `server/` on a free port, stopped with SIGTERM after (the
    tests' `service`, tests/support.py)."""
    with service("server", env, log_dir, cwd=SERVER_DIR) as running:
        pid = python_child(running.process.pid)
        if pid is None:
            raise RuntimeError("the Server's Python process was not found under uv")
        yield Running(running.url, pid, running.log_path)


@contextmanager
def profiled(pid: int, output: Path | None) -> Iterator[None]:
    """py-spy on the Server meanwhile, collapsed stacks written to `output` at the end."""
    if output is None:
        yield
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    py_spy = [found] if (found := shutil.which("py-spy")) else [uv(), "tool", "run", "py-spy"]
    record = ["record", "--format", "raw", "--rate", "250", "--pid", str(pid)]
    spy = subprocess.Popen(  # noqa: S603 - our own command line
        [*py_spy, *record, "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        if spy.poll() is None:
            os.killpg(spy.pid, signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(spy.pid, signal.SIGKILL)
            spy.wait()
