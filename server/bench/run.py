"""Start the Server, load its `POST /process`, print requests/s and the Server's CPU per request.

The Router calls `/process` once per inbound message, with an `X-Request-ID`, on the same machine
as the Router and the Simulator in the Router's benchmark: every millisecond of CPU the Server
spends per call is a millisecond the other two cannot use. CPU is read from /proc/<pid>/stat of
the uvicorn process before and after the measured requests, so warm-up and start-up are left out.
The client runs on the same cores; whatever else the machine runs meanwhile only adds to the
figures, so the best round is the one compared with the target.

A refused request or a reply that is not the assignment's is a broken run (exit 1); a missed
target is only reported (exit 0).
"""

import argparse
import asyncio
import os
import platform
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport

from bench.processes import Running, cpu_seconds, profiled, server

CPU_MS_TARGET = 0.3
REPLY = re.compile(
    r"I received your message: '(?P<text>.*)' and here is a random number: \d+", re.S
)
TEXT = "Hello, is this the right number for the order I placed yesterday?"
TIMEOUT_SECONDS = 30.0


class BrokenRun(RuntimeError):
    """The Server refused a request, answered something else than the contract, or stopped."""


@dataclass(frozen=True)
class Options:
    requests: int
    concurrency: int
    warmup: int
    rounds: int
    log_level: str
    access_log: bool
    profile: Path | None


@dataclass(frozen=True)
class Round:
    seconds: float
    server_cpu_seconds: float
    client_cpu_seconds: float
    latencies_ms: list[float]


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="measured requests per round")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=1000, help="unmeasured requests first")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds, each reported")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="the Server's LOG_LEVEL (INFO logs a line per request, as in production)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="keep uvicorn's access log on (as in production)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="record the Server with py-spy during the rounds (collapsed stacks; figures are "
        "then higher)",
    )
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.rounds) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --rounds must be positive, --warmup not < 0")
    return Options(
        requests=args.requests,
        concurrency=args.concurrency,
        warmup=args.warmup,
        rounds=args.rounds,
        log_level=args.log_level.upper(),
        access_log=args.access_log,
        profile=args.profile,
    )


def server_env(options: Options) -> dict[str, str]:
    """As the Router's benchmark runs it: the Server's own LOG_LEVEL (WARNING unless asked), and
    uvicorn's (its access log is INFO) through its CLI's environment variable, so the command
    stays as documented."""
    env = {"LOG_LEVEL": options.log_level}
    if not options.access_log:
        env["UVICORN_LOG_LEVEL"] = "warning"
    return env


async def one_call(client: httpx.AsyncClient, url: str) -> float:
    request_id = uuid.uuid4().hex
    started = time.perf_counter()
    response = await client.post(url, json={"text": TEXT}, headers={"X-Request-ID": request_id})
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BrokenRun(f"/process answered {response.status_code}: {response.text[:200]}")
    body = response.json()
    match = REPLY.fullmatch(body.get("reply", ""))
    if body.get("original") != TEXT or match is None or match["text"] != TEXT:
        raise BrokenRun(f"/process answered {body!r}")
    if response.headers.get("x-request-id") != request_id:
        raise BrokenRun("/process did not pass the request id back")
    return elapsed_ms


async def load(client: httpx.AsyncClient, url: str, count: int, concurrency: int) -> list[float]:
    """`count` calls, `concurrency` at a time, each worker starting its next as one ends."""
    remaining = iter(range(count))
    latencies: list[float] = []

    async def worker() -> None:
        for _ in remaining:
            latencies.append(await one_call(client, url))

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, count)):
            group.create_task(worker())
    return latencies


async def measure(options: Options, running: Running) -> list[Round]:
    url = f"{running.url}/process"
    limits = httpx.Limits(max_connections=options.concurrency)
    transport = AiohttpTransport(limits=limits)
    rounds = []
    async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT_SECONDS) as client:
        await load(client, url, options.warmup, options.concurrency)
        with profiled(running.pid, options.profile):
            if options.profile is not None:
                await asyncio.sleep(1)  # py-spy attaching
            for _ in range(options.rounds):
                server_before, client_before = cpu_seconds(running.pid), time.process_time()
                started = time.perf_counter()
                latencies = await load(client, url, options.requests, options.concurrency)
                seconds = time.perf_counter() - started
                rounds.append(
                    Round(
                        seconds=seconds,
                        server_cpu_seconds=cpu_seconds(running.pid) - server_before,
                        client_cpu_seconds=time.process_time() - client_before,
                        latencies_ms=latencies,
                    )
                )
    return rounds


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def report(options: Options, rounds: list[Round]) -> str:
    n = options.requests
    lines = [
        f"{'round':<6}{'req/s':>8}{'server CPU ms/req':>19}{'client CPU ms/req':>19}"
        f"{'p50 ms':>8}{'p99 ms':>8}"
    ]
    for index, measured in enumerate(rounds, 1):
        lines.append(
            f"{index:<6}{n / measured.seconds:>8.0f}"
            f"{measured.server_cpu_seconds * 1000 / n:>19.3f}"
            f"{measured.client_cpu_seconds * 1000 / n:>19.3f}"
            f"{statistics.median(measured.latencies_ms):>8.2f}"
            f"{percentile(measured.latencies_ms, 0.99):>8.2f}"
        )
    per_request = sorted(r.server_cpu_seconds * 1000 / n for r in rounds)
    best, median = per_request[0], statistics.median(per_request)
    verdict = "pass" if best <= CPU_MS_TARGET else "FAIL"
    lines.append(
        f"server CPU per request: best round {best:.3f} ms, median {median:.3f} ms "
        f"(target <= {CPU_MS_TARGET} ms: {verdict})"
    )
    return "\n".join(lines)


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


def first_leaf(exc: BaseException) -> BaseException:
    """The first error inside the task group's, for a one-line report."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    say(f"machine: {machine()}")
    say(
        f"{options.rounds} rounds of {options.requests} POST /process, {options.concurrency} in "
        f"flight, after {options.warmup} warm-up requests; LOG_LEVEL={options.log_level}, access "
        f"log {'on' if options.access_log else 'off'}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="server-bench-"))
    try:
        with server(server_env(options), workdir) as running:
            rounds = asyncio.run(measure(options, running))
    except (RuntimeError, TimeoutError, httpx.HTTPError, ExceptionGroup) as exc:
        cause = first_leaf(exc)
        say(f"BROKEN RUN: {type(cause).__name__}: {cause}")
        say(f"the Server's log is kept in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    say(report(options, rounds))
    if options.profile is not None:
        say(f"profile (collapsed stacks, for speedscope or flamegraph.pl) in {options.profile}")
    return 0
