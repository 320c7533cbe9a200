"""Measure what one reply costs the Simulator: a Graph API send and its status webhooks.

The Simulator runs as a real uvicorn process (the dev command), its webhooks go to a minimal
receiver in this process, and N sends are fired at a given concurrency (and, optionally, a rate)
to distinct numbers, as the Router sends replies. The run ends when every status (sent, delivered,
read) has arrived; the Simulator's CPU time comes from /proc. Every send must be accepted and every
status must arrive exactly once, in a validly signed body, or the run is broken (exit 1).
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.support import free_port, stop

SIMULATOR_DIR = Path(__file__).resolve().parents[1]
PHONE_ID = "1122334455667"
TOKEN = "bench-token"  # noqa: S105 - made up for the run
APP_SECRET = "bench-app-secret"  # noqa: S105
WARM_UP_SENDS = 50
STATUSES_PER_REPLY = 3  # sent, delivered, read: the numbers created by a send all read
TICKS = os.sysconf("SC_CLK_TCK")


class BrokenRun(RuntimeError):
    """A send refused, a status lost, doubled or badly signed, or the Simulator gone."""


@dataclass
class Receiver:
    """The Router's webhook reduced to what the run checks: signatures and statuses."""

    bodies: int = 0
    bad_signatures: int = 0
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    def reset(self, expected: int) -> None:
        self.bodies = self.bad_signatures = 0
        self.seen.clear()
        self.arrived.clear()
        self.expected = expected

    async def webhook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if request.headers.get("x-hub-signature-256") != expected:
            self.bad_signatures += 1
        self.bodies += 1
        for entry in json.loads(raw)["entry"]:
            for change in entry["changes"]:
                for status in change["value"].get("statuses", []):
                    self.seen[(status["id"], status["status"])] += 1
        if self.expected and self.seen.total() >= self.expected:
            self.arrived.set()
        return web.Response()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process, from /proc/<pid>/stat."""
    # pid (comm) state ppid ... utime stime: fields 14 and 15, counted after the comm.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def simulator(port: int, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`uvicorn app.main:app` in this project's environment, stopped with SIGTERM."""
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log"]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own command, no shell
            command,
            cwd=SIMULATOR_DIR,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


async def wait_healthy(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokenRun(f"the simulator exited with {process.returncode}")
        try:
            async with session.get(f"{url}/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise BrokenRun("the simulator was not healthy within 60 s")


async def fire(
    session: aiohttp.ClientSession, url: str, numbers: list[str], concurrency: int, rate: float
) -> list[str]:
    """One text send per number; at most `concurrency` at once, at most `rate` started per s."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(index: int, to: str) -> str:
        if rate:
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}}
        async with gate, session.post(url, json=body, headers=headers) as response:
            answer = await response.json()
            if response.status != 200:
                raise BrokenRun(f"send refused with {response.status}: {answer}")
            wamid: str = answer["messages"][0]["id"]
            return wamid

    return await asyncio.gather(*(one(i, to) for i, to in enumerate(numbers)))


@dataclass
class Figures:
    wamids: list[str]
    sent_s: float
    done_s: float
    user_s: float
    system_s: float
    peak_mb: float


async def load(
    args: argparse.Namespace, receiver: Receiver, url: str, process: subprocess.Popen[bytes]
) -> Figures:
    """Warm up, start from an empty store, fire the sends, wait for every status."""
    send_url = f"{url}/v26.0/{PHONE_ID}/messages"
    connector = aiohttp.TCPConnector(limit=max(args.concurrency, 1))
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_healthy(session, url, process)
        warm = [f"1666{i:07d}" for i in range(WARM_UP_SENDS)]
        await fire(session, send_url, warm, concurrency=10, rate=0)
        for path in ("/sim/flush", "/sim/reset"):
            async with session.post(f"{url}{path}") as response:
                response.raise_for_status()
        receiver.reset(expected=args.sends * STATUSES_PER_REPLY)

        numbers = [f"1555{i:07d}" for i in range(args.sends)]
        cpu_before, started = cpu_seconds(process.pid), time.perf_counter()
        wamids = await fire(session, send_url, numbers, args.concurrency, args.rate)
        sent = time.perf_counter()
        with suppress(TimeoutError):  # judged by the caller: what is missing is lost
            await asyncio.wait_for(receiver.arrived.wait(), args.timeout)
        done = time.perf_counter()
        user, system = (a - b for a, b in zip(cpu_seconds(process.pid), cpu_before, strict=True))
    return Figures(wamids, sent - started, done - started, user, system, peak_rss_mb(process.pid))


def report(args: argparse.Namespace, receiver: Receiver, figures: Figures, log: Path) -> int:
    statuses = receiver.seen.total()
    lost = args.sends * STATUSES_PER_REPLY - len(receiver.seen)
    doubled = sum(n - 1 for n in receiver.seen.values() if n > 1)
    foreign = {w for w, _ in receiver.seen} - set(figures.wamids)
    print(
        f"{args.sends} sends to distinct numbers, concurrency {args.concurrency}"
        + (f", {args.rate:g}/s" if args.rate else "")
        + f"; simulator LATENCY_MS={args.latency_ms}, LOG_LEVEL={args.log_level}"
        + (f", STATUS_BATCH_MAX={args.batch_max}" if args.batch_max is not None else "")
        + (
            f", STATUS_BATCH_WINDOW_MS={args.batch_window_ms}"
            if args.batch_window_ms is not None
            else ""
        )
    )
    print(
        f"  sends answered in {figures.sent_s:.2f} s: {args.sends / figures.sent_s:.0f} replies/s"
    )
    print(f"  last status after {figures.done_s:.2f} s")
    print(
        f"  {statuses} statuses in {receiver.bodies} webhook bodies "
        f"({statuses / max(receiver.bodies, 1):.1f} per body)"
    )
    cpu_ms = (figures.user_s + figures.system_s) * 1000
    print(
        f"  simulator CPU {cpu_ms:.0f} ms (user {figures.user_s * 1000:.0f}, system "
        f"{figures.system_s * 1000:.0f}), {cpu_ms / 10 / figures.done_s:.0f}% of one core: "
        f"{cpu_ms / args.sends:.3f} ms per reply; peak RSS {figures.peak_mb:.0f} MB"
    )
    if lost or doubled or foreign or receiver.bad_signatures:
        print(
            f"BROKEN: {lost} statuses lost, {doubled} doubled, {len(foreign)} for unknown wamids, "
            f"{receiver.bad_signatures} bodies badly signed (simulator log: {log})",
            file=sys.stderr,
        )
        return 1
    return 0


async def measure(args: argparse.Namespace, log: Path) -> int:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/webhook", receiver.webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    receiver_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", receiver_port).start()

    port = free_port()
    env = {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "SIMULATOR_WEBHOOK_URL": f"http://127.0.0.1:{receiver_port}/webhook",
        # The numbers never wrote through the Simulator, as in the Router's benchmark.
        "SIMULATOR_ENFORCE_WINDOW": "false",
        "SIMULATOR_LATENCY_MS": str(args.latency_ms),
        # No fault from a developer's .env: every send and every status must go through.
        "SIMULATOR_ERROR_RATE": "0",
        "SIMULATOR_WEBHOOK_DROP_RATE": "0",
        "SIMULATOR_WEBHOOK_DUPLICATE_RATE": "0",
        "LOG_LEVEL": args.log_level,
    }
    if args.batch_max is not None:
        env["SIMULATOR_STATUS_BATCH_MAX"] = str(args.batch_max)
    if args.batch_window_ms is not None:
        env["SIMULATOR_STATUS_BATCH_WINDOW_MS"] = str(args.batch_window_ms)
    try:
        with simulator(port, env, log) as process:
            figures = await load(args, receiver, f"http://127.0.0.1:{port}", process)
            return report(args, receiver, figures, log)
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sends", type=int, default=5000, help="Graph API sends (replies)")
    parser.add_argument("--concurrency", type=int, default=100, help="sends in flight at once")
    parser.add_argument("--rate", type=float, default=0, help="sends started per s (0: no limit)")
    parser.add_argument("--latency-ms", type=int, default=0, help="SIMULATOR_LATENCY_MS")
    parser.add_argument("--batch-max", type=int, help="SIMULATOR_STATUS_BATCH_MAX")
    parser.add_argument("--batch-window-ms", type=int, help="SIMULATOR_STATUS_BATCH_WINDOW_MS")
    parser.add_argument("--log-level", default="INFO", help="the simulator's LOG_LEVEL")
    parser.add_argument("--timeout", type=float, default=60, help="s to wait for the statuses")
    parser.add_argument("--log", help="the simulator's log (default: a file in the temp dir)")
    args = parser.parse_args()
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the Simulator is stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    log = Path(args.log or Path(tempfile.gettempdir()) / f"simulator-bench-{os.getpid()}.log")
    try:
        code = asyncio.run(measure(args, log))
    except BrokenRun as exc:
        print(f"BROKEN: {exc} (simulator log: {log})", file=sys.stderr)
        return 1
    if code == 0 and not args.log:
        log.unlink()  # kept when the run broke, to read
    return code
