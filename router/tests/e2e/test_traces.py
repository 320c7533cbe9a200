"""Traces from real processes, collected by a tiny OTLP/HTTP receiver: one trace joins a message's
webhook, its job, the Server's /process and the Graph API send; a status webhook links to it; and a
job resumed after the router was SIGKILLed continues the webhook's trace. A router started without
an OTLP endpoint loads nothing of OpenTelemetry's tracing."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..meta import PHONE_NUMBER_ID, signed, status_update, text_message
from ..support import REPO_ROOT, free_port, in_thread, service, wait_until_sync
from .graph_standin import GraphStandIn
from .otlp_receiver import OtlpReceiver, ReceivedSpan, traced_env
from .test_crash import HoldingServer

# Three services started (and one restarted) per test, on a machine that may be busy.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

APP_SECRET = "traces-app-secret"
ACCESS_TOKEN = "traces-access-token"
ADMIN_KEY = "traces-admin-key"
SERVER_KIND = 2  # OTLP's SpanKind: SERVER
CLIENT_KIND = 3
CONSUMER_KIND = 5


@pytest.fixture
def receiver() -> Iterator[tuple[OtlpReceiver, str]]:
    collector = OtlpReceiver()
    with in_thread(collector.app) as url:
        yield collector, url


@pytest.fixture
def graph() -> Iterator[tuple[GraphStandIn, str]]:
    standin = GraphStandIn(ACCESS_TOKEN)
    with in_thread(standin.app) as url:
        yield standin, url


def router_env(server_url: str, graph_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "traces-verify",
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_GRAPH_API_URL": graph_url,
        "SERVER_BASE_URL": server_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'router.db'}",
        "ROUTER_ADMIN_API_KEY": ADMIN_KEY,
        "ROUTER_LEASE_SECONDS": "2",
        "ROUTER_SWEEP_SECONDS": "0.3",
        "LOG_FORMAT": "json",
    }


def post_text(router_url: str, wamid: str, text: str) -> None:
    body, headers = signed(APP_SECRET, text_message(wamid, text))
    assert httpx.post(f"{router_url}/webhook", content=body, headers=headers).is_success


def webhook_span(collector: OtlpReceiver) -> list[ReceivedSpan]:
    return collector.find(
        lambda s: s.service == "router" and s.name == "POST /webhook" and s.kind == SERVER_KIND
    )


def test_one_trace_joins_webhook_job_server_and_graph_send(
    receiver: tuple[OtlpReceiver, str], graph: tuple[GraphStandIn, str], tmp_path: Path
) -> None:
    collector, collector_url = receiver
    standin, graph_url = graph
    server_env = {**traced_env(collector_url, "server"), "LOG_FORMAT": "json"}
    with service("server", server_env, tmp_path) as server:
        env = {
            **router_env(server.url, graph_url, tmp_path),
            **traced_env(collector_url, "router"),
        }
        with service("router", env, tmp_path) as router:
            post_text(router.url, "wamid.trace.1", "hello")
            wait_until_sync(lambda: standin.texts_to("972987654321"), what="the reply", timeout=30)
            [webhook] = wait_until_sync(
                lambda: webhook_span(collector), what="the webhook's span", timeout=30
            )
            trace_id = webhook.trace_id

            def joined() -> list[ReceivedSpan]:
                return collector.find(lambda s: s.trace_id == trace_id)

            def complete() -> bool:
                names = {(s.service, s.name, s.kind) for s in joined()}
                sends = [s for s in joined() if s.kind == CLIENT_KIND and s.service == "router"]
                return (
                    ("router", "message.process", CONSUMER_KIND) in names
                    and (
                        "server",
                        "POST /process",
                        SERVER_KIND,
                    )
                    in names
                    and any(
                        "/messages"
                        in str(s.attributes.get("url.full", s.attributes.get("http.url")))
                        for s in sends
                    )
                )

            wait_until_sync(
                complete, what="the job's, the Server's and the Graph API send's spans", timeout=30
            )
            spans = joined()
            [job] = [s for s in spans if s.name == "message.process"]
            assert job.kind == CONSUMER_KIND
            assert job.parent_span_id == webhook.span_id
            [process] = [s for s in spans if s.service == "server" and s.name == "POST /process"]
            [server_call] = [s for s in spans if s.span_id == process.parent_span_id]
            assert (server_call.service, server_call.kind) == ("router", CLIENT_KIND)
            by_id = {s.span_id: s for s in spans}
            assert by_id[server_call.parent_span_id].name == "message.process"
            [send] = [
                s
                for s in spans
                if s.kind == CLIENT_KIND
                and str(s.attributes.get("url.full", s.attributes.get("http.url"))).startswith(
                    graph_url
                )
            ]
            assert send.parent_span_id == job.span_id

            # Meta's statuses about the reply: their span links to the message's trace.
            wamid = wait_until_sync(
                lambda: _outbound_wamid(router.url) or "", what="the reply's wamid", timeout=30
            )
            _deliver_status(router.url, wamid)
            [statuses] = wait_until_sync(
                lambda: collector.find(lambda s: s.name == "webhook.statuses"),
                what="the statuses' span",
                timeout=30,
            )
            assert [link[0] for link in statuses.links] == [trace_id]

            log_lines = [json.loads(line) for line in router.logs().splitlines() if "{" in line]
            replied = [line for line in log_lines if line.get("event") == "message.replied"]
            assert [line.get("trace_id") for line in replied] == [trace_id]
            server_lines = [json.loads(x) for x in server.logs().splitlines() if "{" in x]
            assert trace_id in {line.get("trace_id") for line in server_lines}


def test_a_job_resumed_after_sigkill_continues_the_webhooks_trace(
    receiver: tuple[OtlpReceiver, str], graph: tuple[GraphStandIn, str], tmp_path: Path
) -> None:
    collector, collector_url = receiver
    standin, graph_url = graph
    held = HoldingServer()  # answers "hold ..." only once released
    with in_thread(held.app) as server_url:
        env = router_env(server_url, graph_url, tmp_path)
        port = free_port()
        first = {**env, **traced_env(collector_url, "router", instance="first")}
        with service("router", first, tmp_path, port=port) as router:
            post_text(router.url, "wamid.resumed.1", "hold on")
            [webhook] = wait_until_sync(
                lambda: webhook_span(collector), what="the webhook's span", timeout=30
            )
            # The job runs, waiting for the Server; the router dies with it unfinished.
            wait_until_sync(lambda: _processing(router.url), what="the job to start", timeout=30)
            os.killpg(router.process.pid, signal.SIGKILL)
            router.process.wait()

        held.release.set()
        second = {**env, **traced_env(collector_url, "router", instance="second")}
        with service("router", second, tmp_path, port=port):
            wait_until_sync(
                lambda: standin.texts_to("972987654321"),
                what="the reply after the restart",
                timeout=30,
            )
            jobs = wait_until_sync(
                lambda: collector.find(lambda s: s.name == "message.process"),
                what="the resumed job's span",
                timeout=30,
            )

    # The killed process never ended its job's span; the restarted one ran the job again, in the
    # webhook's trace.
    assert [(s.instance, s.trace_id, s.parent_span_id) for s in jobs] == [
        ("second", webhook.trace_id, webhook.span_id)
    ]
    assert webhook.instance == "first"
    sends = collector.find(
        lambda s: (
            s.trace_id == webhook.trace_id
            and s.kind == CLIENT_KIND
            and str(s.attributes.get("url.full", s.attributes.get("http.url"))).startswith(
                graph_url
            )
        )
    )
    assert [s.parent_span_id for s in sends] == [jobs[0].span_id]


def test_a_router_without_an_endpoint_loads_nothing_of_opentelemetrys_tracing(
    graph: tuple[GraphStandIn, str], tmp_path: Path
) -> None:
    _, graph_url = graph
    held = HoldingServer()
    with in_thread(held.app) as server_url:
        env = {
            **os.environ,
            **router_env(server_url, graph_url, tmp_path),
            "OTEL_EXPORTER_OTLP_ENDPOINT": "",
            "UV_PYTHON_DOWNLOADS": "never",
        }
        env.pop("VIRTUAL_ENV", None)
        done = subprocess.run(
            [sys.executable, "-m", "tests.e2e.untraced"],
            cwd=REPO_ROOT / "router",
            env=env,
            capture_output=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert report["replied"] == 1
    assert report["loaded"] == []


def _messages(router_url: str, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{router_url}/api/v1/messages", params=params, headers={"X-API-Key": ADMIN_KEY}
    )
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _processing(router_url: str) -> bool:
    return bool(_messages(router_url, status="processing"))


def _outbound_wamid(router_url: str) -> str | None:
    sent = [m for m in _messages(router_url, direction="outbound") if m["wamid"]]
    return sent[0]["wamid"] if sent else None


def _deliver_status(router_url: str, wamid: str) -> None:
    body, headers = signed(APP_SECRET, status_update(wamid, "delivered"))
    assert httpx.post(f"{router_url}/webhook", content=body, headers=headers).is_success
