"""Start the Server, the Simulator and the Router, load the Router's webhook, print the figures.

1. Webhook ack latency: signed webhooks (one text each, from distinct users) posted to the Router
   at a fixed rate, each at its scheduled time whatever the previous answers; timed client-side.
2. End-to-end replies per second: a burst from distinct users, from the first POST until the Router
   counts every one of them replied (its stats API, polled).
3. The Router's peak memory (VmHWM of its uvicorn process) after both.

Every reply must reach the Simulator exactly once; a lost or doubled reply, a refused webhook or a
service that stops is a broken run (exit 1). A missed target is only reported (exit 0).
"""

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from prometheus_client.parser import text_string_to_metric_families

from tests.meta import PHONE_NUMBER_ID, batch, signed, text_message
from tests.support import Service, free_port, service, uv

ACK_P99_TARGET_MS = 20.0
REPLIES_PER_SECOND_TARGET = 1000.0
MEMORY_TARGET_MB = 200.0

LOG_LEVEL = "INFO"  # as shipped (router/app/settings.py, .env.example)
# What the router's work cost, from its /metrics (app/core/costs.py): printed per reply.
COSTS = {
    "router_db_statements_total": "SQL statements",
    "router_db_commits_total": "commits",
    "router_http_client_requests_total": "HTTP requests made",
    "router_asyncio_tasks_created_total": "asyncio tasks",
    "router_log_lines_total": "log lines",
}
POLL_SECONDS = 0.1
ACK_TIMEOUT_SECONDS = 60.0


class BrokenRun(RuntimeError):
    """The run itself failed: a service stopped, a webhook was refused, a reply lost or doubled."""


@dataclass(frozen=True)
class Options:
    rate: int
    seconds: float
    burst: int
    concurrency: int
    per_webhook: int
    database: str | None
    queue: str
    latency_ms: int
    reply_timeout: float
    access_log: bool
    profile: Path | None
    workers: int
    subscriber: bool
    log_level: str


@dataclass(frozen=True)
class Webhook:
    body: bytes
    headers: dict[str, str]
    wa_ids: tuple[str, ...]


@dataclass(frozen=True)
class Secrets:
    access_token: str
    app_secret: str
    verify_token: str
    admin_key: str

    @classmethod
    def generate(cls) -> "Secrets":
        return cls(*(secrets.token_urlsafe(24) for _ in range(4)))


@dataclass(frozen=True)
class Latencies:
    ack_ms: list[float]
    late_ms: list[float]  # how late the client sent each request against its schedule
    seconds: float
    timeouts: int  # acks that took longer than ACK_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Burst:
    acks_per_second: float  # webhooks acked per second while the burst was posted
    replied_seconds: float  # first POST to every message counted replied (or to the timeout)
    replied: int


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=200, help="webhooks/s of the latency phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency phase")
    parser.add_argument("--burst", type=int, default=5000, help="messages in the burst")
    parser.add_argument("--concurrency", type=int, default=64, help="burst webhooks in flight")
    parser.add_argument(
        "--per-webhook", type=int, default=1, help="burst messages per webhook body (entries)"
    )
    parser.add_argument(
        "--database",
        help="DATABASE_URL of an empty database (default: a new SQLite file in a temp dir)",
    )
    parser.add_argument("--queue", default="memory://", help="QUEUE_URL (memory:// or redis://)")
    parser.add_argument("--latency-ms", type=int, default=50, help="SIMULATOR_LATENCY_MS")
    parser.add_argument(
        "--reply-timeout", type=float, default=60.0, help="seconds to wait for a phase's replies"
    )
    parser.add_argument(
        "--access-log", action="store_true", help="keep uvicorn's access log on (as in production)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record every service with py-spy meanwhile (figures are then lower)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run jobs in this many worker router processes, the measured router taking only "
        "webhooks (ROUTER_PROCESS_JOBS=false; needs --queue redis://...)",
    )
    parser.add_argument(
        "--subscriber",
        action="store_true",
        help="keep one SSE subscriber (GET /api/v1/events) connected to the router during the run "
        "and count the events it receives",
    )
    parser.add_argument(
        "--log-level",
        default=LOG_LEVEL,
        help=f"every service's LOG_LEVEL (default {LOG_LEVEL}, as shipped)",
    )
    args = parser.parse_args(argv)
    if args.workers < 0 or (args.workers and not args.queue.startswith("redis")):
        parser.error("--workers needs --queue redis://...")
    if args.rate < 1 or args.seconds <= 0 or args.burst < 1 or args.concurrency < 1:
        parser.error("--rate, --seconds, --burst and --concurrency must be positive")
    if args.per_webhook < 1:
        parser.error("--per-webhook must be at least 1")
    return Options(
        rate=args.rate,
        seconds=args.seconds,
        burst=args.burst,
        concurrency=args.concurrency,
        per_webhook=args.per_webhook,
        database=args.database,
        queue=args.queue,
        latency_ms=args.latency_ms,
        reply_timeout=args.reply_timeout,
        access_log=args.access_log,
        profile=args.profile,
        workers=args.workers,
        subscriber=args.subscriber,
        log_level=args.log_level.upper(),
    )


# --- the services --------------------------------------------------------------------------------


def logging_env(options: Options) -> dict[str, str]:
    """The services' own LOG_LEVEL; uvicorn's level (its access log is INFO) through its CLI's
    environment variable, so the command stays `uvicorn app.main:app --host --port`."""
    env = {"LOG_LEVEL": options.log_level}
    if not options.access_log:
        env["UVICORN_LOG_LEVEL"] = "warning"
    return env


def router_env(
    keys: Secrets, options: Options, database_url: str, server: str, simulator: str
) -> dict[str, str]:
    return {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": keys.access_token,
        "WHATSAPP_APP_SECRET": keys.app_secret,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": keys.verify_token,
        "WHATSAPP_GRAPH_API_URL": simulator,
        "WHATSAPP_MESSAGES_PER_SECOND": "1000",
        "SERVER_BASE_URL": server,
        "DATABASE_URL": database_url,
        "QUEUE_URL": options.queue,
        "ROUTER_ADMIN_API_KEY": keys.admin_key,
    }


def simulator_env(keys: Secrets, options: Options, router_port: int) -> dict[str, str]:
    return {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": keys.access_token,
        "WHATSAPP_APP_SECRET": keys.app_secret,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": keys.verify_token,
        "SIMULATOR_WEBHOOK_URL": f"http://127.0.0.1:{router_port}/webhook",
        "SIMULATOR_LATENCY_MS": str(options.latency_ms),
        # The bench writes to the Router directly: the Simulator never saw these users write.
        "SIMULATOR_ENFORCE_WINDOW": "false",
    }


def check_alive(*services: Service) -> None:
    for running in services:
        code = running.process.poll()
        if code is not None:
            print(f"--- {running.name} log ---\n{running.logs()}", file=sys.stderr)
            raise BrokenRun(f"the {running.name} exited with {code}")


def group_processes(process_group: int) -> list[tuple[int, str, dict[str, str]]]:
    """The processes of a group but `uv` itself: (pid, name, /proc/<pid>/status fields)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != process_group:
                continue
            status = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines()
            )
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # gone meanwhile
        name = status.get("Name", "").strip()
        if name != "uv":
            found.append((int(entry.name), name, {k: v.strip() for k, v in status.items()}))
    return found


def cpu_seconds(*services: Service) -> dict[str, float]:
    """CPU time (user + system) used so far by each service's processes, `uv` included."""
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys((s.name for s in services), 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for running in services:
            if int(fields[2]) == running.process.pid:
                used[running.name] += (int(fields[11]) + int(fields[12])) / tick
    return used


class CpuMeter:
    """Each service's CPU use, and this client's, between `start()` and `line()`."""

    def __init__(self, services: Sequence[Service]) -> None:
        self._services = services
        self.start()

    def start(self) -> None:
        self._before = cpu_seconds(*self._services)
        self._own = time.process_time()
        self._at = time.perf_counter()

    def lines(self, replies: int | None = None) -> list[str]:
        """Each process's share of a core since `start()`; with `replies`, also its CPU per reply
        and the replies/s the machine's cores could give at that cost. One reading for both."""
        after = cpu_seconds(*self._services)
        elapsed = time.perf_counter() - self._at
        used = {name: after[name] - self._before[name] for name in after}
        used["bench client"] = time.process_time() - self._own
        shares = ", ".join(f"{name} {seconds / elapsed:.0%}" for name, seconds in used.items())
        lines = [f"CPU over {elapsed:.1f} s (100% = one core): {shares}"]
        if replies is not None:
            each = {name: 1000 * seconds / max(replies, 1) for name, seconds in used.items()}
            total = sum(each.values())
            cores = os.cpu_count() or 1
            ceiling = 1000 * cores / total if total else float("inf")
            parts = ", ".join(f"{name} {ms:.2f}" for name, ms in each.items())
            lines.append(
                f"CPU per reply (ms): {parts}; {total:.2f} in all, so {cores} cores give at most "
                f"{ceiling:,.0f} replies/s (the database and Redis servers not counted)"
            )
        return lines


def peak_memory_kb(running: Service) -> tuple[int, int, str]:
    """The highest VmHWM in the service's process group: (kB, pid, process name)."""
    peaks = [
        (int(status["VmHWM"].split()[0]), pid, name)
        for pid, name, status in group_processes(running.process.pid)
        if "VmHWM" in status
    ]
    if not peaks:
        raise BrokenRun(f"no process of the {running.name} to measure")
    return max(peaks)


@contextmanager
def profiled(services: Sequence[Service], directory: Path | None) -> Iterator[None]:
    """py-spy on each service's Python process meanwhile: collapsed stacks in `directory`."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = [found] if (found := shutil.which("py-spy")) else [uv(), "tool", "run", "py-spy"]
    spies = []
    for running in services:
        for pid, _, _ in group_processes(running.process.pid):
            output = directory / f"{running.name}-{pid}.txt"
            command = [
                *py_spy,
                "record",
                "--gil",
                "--format",
                "raw",
                "--rate",
                "100",
                "--pid",
                str(pid),
            ]
            spies.append(
                subprocess.Popen(  # noqa: S603 - our own command line
                    [*command, "--output", str(output)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
    try:
        yield
    finally:
        for spy in spies:
            if spy.poll() is None:
                os.killpg(spy.pid, signal.SIGINT)  # py-spy writes its file on Ctrl-C
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(spy.pid, signal.SIGKILL)
                spy.wait()
        say(f"profiles (collapsed stacks, for speedscope or flamegraph.pl) in {directory}")


# --- the load ------------------------------------------------------------------------------------


def webhooks(phase: int, count: int, per_webhook: int, app_secret: str) -> list[Webhook]:
    """`count` text messages from distinct users, `per_webhook` of them per signed body."""
    made = []
    for start in range(0, count, per_webhook):
        bodies = []
        wa_ids = []
        for n in range(start, min(start + per_webhook, count)):
            wa_id = f"1555{phase}{n:07d}"
            bodies.append(
                text_message(
                    f"wamid.bench.{phase}.{n}",
                    f"bench {phase} {n}",
                    wa_id=wa_id,
                    user_id=f"US.9{phase}{n:018d}",
                )
            )
            wa_ids.append(wa_id)
        body, headers = signed(app_secret, batch(*bodies) if len(bodies) > 1 else bodies[0])
        made.append(Webhook(body, headers, tuple(wa_ids)))
    return made


def check_ack(status: int, body: bytes, hook: Webhook) -> None:
    if status != 200:
        raise BrokenRun(f"the webhook answered {status}: {body[:200]!r}")
    stored = json.loads(body).get("messages")
    if stored != len(hook.wa_ids):
        raise BrokenRun(f"the webhook stored {stored} of {len(hook.wa_ids)} messages")


async def post_webhook(session: aiohttp.ClientSession, url: str, hook: Webhook) -> None:
    async with session.post(url, data=hook.body, headers=hook.headers) as response:
        check_ack(response.status, await response.read(), hook)


async def paced(
    session: aiohttp.ClientSession, url: str, hooks: list[Webhook], rate: int
) -> Latencies:
    """Each webhook sent at t0 + i/rate, without waiting for the answers to earlier ones."""
    ack_ms: list[float] = []
    late_ms: list[float] = []
    timeouts = 0

    async def post(hook: Webhook, scheduled: float) -> None:
        nonlocal timeouts
        start = time.perf_counter()
        late_ms.append((start - scheduled) * 1000)
        try:
            await post_webhook(session, url, hook)
        except TimeoutError:
            timeouts += 1  # counted at the timeout: the real latency is higher
        ack_ms.append((time.perf_counter() - start) * 1000)

    tasks = []
    t0 = time.perf_counter() + 0.05
    for i, hook in enumerate(hooks):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(hook, scheduled)))
    await asyncio.gather(*tasks)
    return Latencies(ack_ms, late_ms, time.perf_counter() - t0, timeouts)


async def flood(
    session: aiohttp.ClientSession, url: str, hooks: list[Webhook], concurrency: int
) -> float:
    """Post every webhook as fast as the Router acks them, `concurrency` in flight."""
    pending = iter(hooks)

    async def worker() -> None:
        for hook in pending:
            try:
                await post_webhook(session, url, hook)
            except TimeoutError:
                continue  # a slow ack, not a refusal: its messages are still counted below

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


class RouterStats:
    def __init__(self, client: httpx.AsyncClient, router: Service, admin_key: str) -> None:
        self._client = client
        self._url = f"{router.url}/api/v1/messages/stats"
        self._headers = {"X-API-Key": admin_key}

    async def get(self) -> dict[str, dict[str, int]]:
        response = await self._client.get(self._url, headers=self._headers)
        response.raise_for_status()
        counts: dict[str, dict[str, int]] = response.json()
        return counts

    async def wait_replied(self, target: int, within: float, alive: Callable[[], None]) -> int:
        """Poll until `target` inbound messages are replied or `within` seconds pass; return how
        many are replied. A message the Router gave up on (failed) breaks the run."""
        deadline = time.perf_counter() + within
        while True:
            inbound = (await self.get()).get("inbound", {})
            if inbound.get("failed"):
                raise BrokenRun(f"the Router failed {inbound['failed']} messages: {inbound}")
            replied = inbound.get("replied", 0)
            if replied >= target or time.perf_counter() > deadline:
                return replied
            alive()
            await asyncio.sleep(POLL_SECONDS)


async def costs(client: httpx.AsyncClient, routers: Sequence[Service]) -> dict[str, float]:
    """The cost counters of `routers` (the router and its workers), added up."""
    total = dict.fromkeys(COSTS, 0.0)
    for running in routers:
        response = await client.get(f"{running.url}/metrics")
        response.raise_for_status()
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name in COSTS:
                    total[sample.name] += sample.value
    return total


def costs_line(before: dict[str, float], after: dict[str, float], replies: int) -> str:
    each = ", ".join(
        f"{label} {(after[name] - before[name]) / max(replies, 1):.2f}"
        for name, label in COSTS.items()
    )
    return f"router work per reply: {each}"


# --- the report ----------------------------------------------------------------------------------

Row = tuple[str, str, str, bool]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def ack_row(options: Options, lat: Latencies) -> Row:
    p50, p99 = percentile(lat.ack_ms, 0.50), percentile(lat.ack_ms, 0.99)
    say(
        f"ack latency ms: p50 {p50:.1f}, p90 {percentile(lat.ack_ms, 0.9):.1f}, p99 {p99:.1f}, "
        f"max {max(lat.ack_ms):.1f} (client behind schedule: "
        f"p99 {percentile(lat.late_ms, 0.99):.1f} ms, max {max(lat.late_ms):.1f} ms)"
    )
    return (
        f"webhook ack p99 at {options.rate}/s",
        f"<= {ACK_P99_TARGET_MS:.0f} ms",
        f"{p99:.1f} ms (p50 {p50:.1f}, max {max(lat.ack_ms):.1f}"
        + (f"; {lat.timeouts} over {ACK_TIMEOUT_SECONDS:.0f} s)" if lat.timeouts else ")"),
        p99 <= ACK_P99_TARGET_MS and not lat.timeouts,
    )


def burst_row(options: Options, burst: Burst | None) -> Row:
    figure = f"end-to-end replies/s, burst of {options.burst}"
    target = f">= {REPLIES_PER_SECOND_TARGET:,.0f}/s"
    if burst is None:
        return figure, target, "not measured (phase 1 did not finish)", False
    per_second = burst.replied / burst.replied_seconds
    unfinished = burst.replied < options.burst
    return (
        figure,
        target,
        f"{per_second:,.0f}/s ({burst.replied} replied in {burst.replied_seconds:.2f} s"
        f"{', UNFINISHED' if unfinished else ''}; acks {burst.acks_per_second:,.0f} webhooks/s)",
        per_second >= REPLIES_PER_SECOND_TARGET and not unfinished,
    )


def memory_row(peak_kb: int, pid: int, name: str) -> Row:
    peak_mb = peak_kb / 1024
    return (
        "router peak memory (VmHWM)",
        f"<= {MEMORY_TARGET_MB:.0f} MB",
        f"{peak_mb:.1f} MB (pid {pid} {name})",
        peak_mb <= MEMORY_TARGET_MB,
    )


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores ({model or platform.machine()}), Python {platform.python_version()}"


def table(rows: list[Row]) -> str:
    header = ("figure", "target", "measured", "result")
    cells = [header, *((f, t, m, "pass" if ok else "FAIL") for f, t, m, ok in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def say(text: str) -> None:
    print(text, flush=True)


# --- the run -------------------------------------------------------------------------------------


async def measure(
    options: Options,
    keys: Secrets,
    router: Service,
    simulator: Service,
    services: list[Service],
    routers: list[Service],
) -> list[Row]:
    webhook_url = f"{router.url}/webhook"
    latency_hooks = webhooks(1, round(options.rate * options.seconds), 1, keys.app_secret)
    burst_hooks = webhooks(2, options.burst, options.per_webhook, keys.app_secret)
    latency_users = [w for hook in latency_hooks for w in hook.wa_ids]
    expected = Counter(latency_users)

    def alive() -> None:
        check_alive(*services)

    # The load itself on aiohttp, the cheapest client here: its CPU comes out of the same two cores.
    # Idle connections are dropped before uvicorn drops them (after 5 s): none reused as it closes.
    load = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1024, keepalive_timeout=2.0),
        timeout=aiohttp.ClientTimeout(total=ACK_TIMEOUT_SECONDS),
    )
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=64))
    async with (
        load,
        httpx.AsyncClient(transport=transport, timeout=ACK_TIMEOUT_SECONDS) as client,
    ):
        stats = RouterStats(client, router, keys.admin_key)
        if any((await stats.get()).values()):
            raise BrokenRun("the database is not empty: the bench needs a fresh one")
        subscriber = Subscriber(router.url, keys.admin_key) if options.subscriber else None
        if subscriber is not None:
            await subscriber.start()

        say(f"phase 1: {len(latency_hooks)} webhooks at {options.rate}/s for {options.seconds} s")
        cpu = CpuMeter(services)
        lat = await paced(load, webhook_url, latency_hooks, options.rate)
        started = time.perf_counter()
        replied = await stats.wait_replied(len(latency_users), options.reply_timeout, alive)
        say(
            f"  all acked {lat.seconds:.2f} s after the first POST; {replied} of "
            f"{len(latency_users)} replied "
            f"{time.perf_counter() - started:.2f} s after the last ack"
        )
        for line in cpu.lines():
            say(f"  {line}")
        burst: Burst | None = None
        if replied < len(latency_users):
            say(f"  not all replied within {options.reply_timeout:.0f} s: no burst")
        else:
            say(
                f"phase 2: burst of {options.burst} messages, {len(burst_hooks)} webhooks "
                f"({options.per_webhook} message(s) each), {options.concurrency} in flight"
            )
            expected.update(w for hook in burst_hooks for w in hook.wa_ids)
            spent = await costs(client, routers)
            started = time.perf_counter()
            cpu.start()
            acked = await flood(load, webhook_url, burst_hooks, options.concurrency)
            total = await stats.wait_replied(expected.total(), options.reply_timeout, alive)
            burst = Burst(
                acks_per_second=len(burst_hooks) / acked,
                replied_seconds=time.perf_counter() - started,
                replied=total - len(latency_users),
            )
            say(
                f"  acked in {acked:.2f} s; {burst.replied} of {options.burst} replied "
                f"in {burst.replied_seconds:.2f} s"
            )
            for line in cpu.lines(burst.replied):
                say(f"  {line}")
            say(f"  {costs_line(spent, await costs(client, routers), burst.replied)}")
        alive()

        # Let the status webhooks (sent, delivered, read) finish before counting and measuring.
        flushed = await client.post(f"{simulator.url}/sim/flush", params={"seconds": 30})
        flushed.raise_for_status()
        counts = await stats.get()
        outbound = await client.get(
            f"{simulator.url}/sim/messages", params={"direction": "outbound"}, timeout=60
        )
        outbound.raise_for_status()
        replies = Counter(m["wa_id"] for m in outbound.json())
        alive()
        if subscriber is not None:
            # Each user's conversation, message and reply, every one: the stream kept up.
            subscriber.expect(expected.total())
            try:
                async with asyncio.timeout(options.reply_timeout):
                    await subscriber.all_created.wait()
            except TimeoutError:
                raise BrokenRun(f"the event stream fell behind: {subscriber.received}") from None
            await subscriber.stop()
            say(f"subscriber: {subscriber.received.total()} events {dict(subscriber.received)}")

    peak = peak_memory_kb(router)
    finished = counts.get("inbound", {}).get("replied", 0) == expected.total()
    lost = expected - replies if finished else Counter[str]()
    doubled = Counter({w: n - 1 for w, n in replies.items() if n > 1})
    unexpected = Counter({w: n for w, n in replies.items() if w not in expected})
    say(
        f"simulator: {replies.total()} replies to {len(replies)} users, {expected.total()} "
        f"expected: {lost.total()} lost, {doubled.total()} doubled, "
        f"{unexpected.total()} unexpected"
        + ("" if finished else " (lost not judged: the Router had not finished)")
    )
    say(f"router stats after the status webhooks: {counts}")
    if lost or doubled or unexpected:
        raise BrokenRun(
            f"lost {list(lost)[:3]}, doubled {list(doubled)[:3]}, unexpected {list(unexpected)[:3]}"
        )
    return [ack_row(options, lat), burst_row(options, burst), memory_row(*peak)]


class Subscriber:
    """One client of the router's event stream for the whole run, as an agent's inbox is."""

    def __init__(self, router_url: str, key: str) -> None:
        self._url = f"{router_url}/api/v1/events"
        self._key = key
        self.received: Counter[str] = Counter()
        # Set once every user's conversation and both its messages (its own, the reply) came.
        self.all_created = asyncio.Event()
        self._created: dict[str, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._connected.wait(), 10)

    async def _read(self) -> None:
        timeout = httpx.Timeout(10, read=None)
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("GET", self._url, headers={"X-API-Key": self._key}) as response,
        ):
            if response.status_code != 200:
                raise BrokenRun(f"the event stream answered {response.status_code}")
            self._connected.set()
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    self.received[line.removeprefix("event: ")] += 1
                    self._check()

    def expect(self, users: int) -> None:
        """`all_created` is set once `users` users' events have all come."""
        self._created = {"conversation.created": users, "message.created": 2 * users}
        self._check()

    def _check(self) -> None:
        if self._created and all(self.received[t] >= n for t, n in self._created.items()):
            self.all_created.set()

    async def stop(self) -> None:
        assert self._task is not None
        if self._task.done():
            self._task.result()  # the stream ended: say why
            raise BrokenRun("the event stream ended during the run")
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def start_services(
    stack: ExitStack, options: Options, keys: Secrets, workdir: Path
) -> tuple[Service, Service, Service, list[Service]]:
    """The Server, the Simulator, the Router and its worker processes, each on a free port."""
    router_port = free_port()
    logs = logging_env(options)
    server = stack.enter_context(service("server", logs, workdir))
    simulator = stack.enter_context(
        service("simulator", logs | simulator_env(keys, options, router_port), workdir)
    )
    database = options.database or f"sqlite+aiosqlite:///{workdir / 'router.db'}"
    env = logs | router_env(keys, options, database, server.url, simulator.url)
    if not options.workers:
        router = stack.enter_context(service("router", env, workdir, port=router_port))
        return server, simulator, router, []
    web = env | {"ROUTER_PROCESS_JOBS": "false"}
    router = stack.enter_context(service("router", web, workdir, port=router_port))
    workers = []
    for number in range(options.workers):
        logs_dir = workdir / f"worker{number}"
        logs_dir.mkdir()
        worker = stack.enter_context(service("router", env, logs_dir))
        workers.append(dataclasses.replace(worker, name=f"worker {number}"))
    return server, simulator, router, workers


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    keys = Secrets.generate()
    say(f"machine: {machine()}")
    say(
        f"settings: every service LOG_LEVEL={options.log_level}, uvicorn "
        f"{'access log on' if options.access_log else '--log-level warning (no access log)'}; "
        f"router QUEUE_URL={options.queue}, workers={options.workers}, "
        f"SSE subscriber={'yes' if options.subscriber else 'no'}, "
        f"DATABASE_URL={options.database or 'a new SQLite file'}, "
        "WHATSAPP_MESSAGES_PER_SECOND=1000, the rest at their defaults; simulator "
        f"SIMULATOR_LATENCY_MS={options.latency_ms}, SIMULATOR_ENFORCE_WINDOW=false, "
        "status webhooks on (default delays)"
    )
    workdir = Path(tempfile.mkdtemp(prefix="router-bench-"))
    try:
        with ExitStack() as stack:
            started = time.perf_counter()
            server, simulator, router, workers = start_services(stack, options, keys, workdir)
            say(f"services up in {time.perf_counter() - started:.1f} s: router {router.url}")
            if workers:
                say(f"jobs run in {len(workers)} worker router(s); the router takes webhooks")
            services = [server, simulator, router, *workers]
            with profiled(services, options.profile):
                rows = asyncio.run(
                    measure(options, keys, router, simulator, services, [router, *workers])
                )
    except (RuntimeError, TimeoutError, httpx.HTTPError, aiohttp.ClientError) as exc:
        say(f"BROKEN RUN: {type(exc).__name__}: {exc}")
        say(f"the services' logs and the database are kept in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    say("")
    say(table(rows))
    return 0
