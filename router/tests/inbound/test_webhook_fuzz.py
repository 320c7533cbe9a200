"""`POST /webhook` fuzzed: signed bodies made from Meta's real fixtures by mutation (wrong types
everywhere, missing and null fields, huge and deep values, surrogates and invalid UTF-8, numbers out
of range, unknown types, 100 messages in one body), posted all at once beside valid texts.

Whatever is sent:
- the answer is never a 5xx;
- every valid text beside it is stored and answered exactly once, with the Server's reply;
- the Server is asked nothing for a body the router did not accept (any answer but 200), and no
  more than the messages it said it stored;
- no message ends failed: a value that cannot be sent never gets as far as a send.
"""

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ..backends import migrated_postgres
from ..conftest import (
    APP_SECRET,
    RouterUnderTest,
    make_settings,
    running_router,
)
from ..graph_api import GraphApi, accepted, no_media
from ..meta import FIXTURES, fixture, sign, text_message

FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
ANSWERS = {200, 400, 413, 422}  # a signed body: never 401 or 403, and never a 5xx
# A list made long: its first item 100 times. The copies of a message share its sender, whose
# messages are answered one after the other (each file fetched in its turn): six bodies of 500 files
# each were minutes of one contact's queue on a loaded machine, past what `settle` waits.
MANY = 100

SPECIAL_STRINGS = [
    "",
    " ",
    "x\ud800",
    "\udfff",
    "a\x00b",
    "é",
    "😀",
    "\u202e",
    "1/../x?y#z",
    "US.",
    "US.ENT.1",
    "text",
    "image",
    "messages",
    "whatsapp_business_account",
    "failed",
    "read",
    "9" * 64,
    "9" * 65,
    "x" * 256,
    "x" * 10_000,
]
SPECIAL_INTEGERS = [0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, 2**64, 10**30]
# Spliced into the serialised body where a marker string stands: what json.dumps does not write.
RAW_FRAGMENTS = [
    b"[" * 200 + b"]" * 200,
    b"[" * 1_500 + b"]" * 1_500,
    b"[" * 100_000,
    b'{"a":' * 2_000 + b"1" + b"}" * 2_000,
    b'"\xff\xfe"',
    b'"x\xed\xa0\x80"',
    b'"\\ud800"',
    b"1e400",
    b"-1e400",
    b"NaN",
    b"123456789012345678901234567890",
    b'"' + b"x" * (1024 * 1024 + 1) + b'"',
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(SPECIAL_INTEGERS),
    st.floats(),
    st.text(st.characters(exclude_categories=()), max_size=20),
    st.sampled_from(SPECIAL_STRINGS),
)
hostile_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "type", "text", "body", "from", "x"]), children)
    ),
    max_leaves=6,
)
# The valid texts: anything a person can type (lone surrogates and NUL have their own tests).
valid_texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=500)

Slot = tuple[Any, Any]  # a container in the body and a key (or index) in it


def slots(value: Any) -> list[Slot]:
    found: list[Slot] = []
    keys: Any = value.keys() if isinstance(value, dict) else range(len(value))
    for key in keys:
        found.append((value, key))
        if isinstance(value[key], dict | list):
            found.extend(slots(value[key]))
    return found


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    """A real fixture with one to four things done to it, serialised (some of it by hand) and
    signed later; every 'wamid.' in it is made unique when it is posted."""
    body: Any = fixture(draw(st.sampled_from(FIXTURE_NAMES)))
    fragments: dict[str, bytes] = {}
    for _ in range(draw(st.integers(1, 4))):
        places = slots(body)
        if not places:
            body = draw(hostile_values)
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "replace", "delete", "null", "raw", "many"]))
        if action == "replace":
            container[key] = draw(hostile_values)
        elif action == "delete":
            del container[key]
        elif action == "null":
            container[key] = None
        elif action == "raw":
            marker = f"raw-fragment-{len(fragments)}"
            fragments[marker] = draw(st.sampled_from(RAW_FRAGMENTS))
            container[key] = marker
        elif isinstance(container[key], list) and container[key]:  # many: 100 of its first item
            first = container[key][0]
            container[key] = [
                {**first, "id": f"{first.get('id')}.{i}"} if isinstance(first, dict) else first
                for i in range(MANY)
            ]
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    # Lone surrogates written as the three bytes UTF-8 would give them, as a broken encoder does.
    raw = text.encode("utf-8", "surrogatepass")
    for marker, fragment in fragments.items():
        raw = raw.replace(json.dumps(marker).encode(), fragment)
    return raw


@dataclass(frozen=True)
class Run:
    mutated: list[bytes]
    valid: list[tuple[str, bool]]  # a text, and whether its contact has a BSUID
    order: list[int]  # indices into mutated + valid, as posted


@st.composite
def runs(draw: st.DrawFn) -> Run:
    mutated = draw(st.lists(mutated_bodies(), max_size=6))
    valid = draw(st.lists(st.tuples(valid_texts, st.booleans()), min_size=1, max_size=4))
    order = draw(st.permutations(range(len(mutated) + len(valid))))
    return Run(mutated, valid, list(order))


EXECUTIONS = itertools.count()


@dataclass
class Fuzzed:
    router: RouterUnderTest
    server: respx.Route
    graph: GraphApi


def any_number_graph(graph_route: GraphApi) -> GraphApi:
    """The Graph API's send, for any phone number id a body may name (the stand-in answers every
    path)."""
    counter = itertools.count(1)

    def send(request: httpx.Request) -> httpx.Response:
        if (refused := no_media(request)) is not None:
            return refused  # a mutated body's file: Meta has no such media
        payload = json.loads(request.content)
        return accepted(f"wamid.fuzzsent{next(counter)}", payload.get("to", ""))

    return graph_route.mock(side_effect=send)


@pytest.fixture
async def sqlite_fuzzed(
    graph_route: GraphApi, server_route: respx.Route, database_url: str
) -> AsyncIterator[Fuzzed]:
    graph = any_number_graph(graph_route)
    async with running_router(make_settings(database_url=database_url)) as router:
        yield Fuzzed(router, server_route, graph)


@pytest.fixture
async def postgres_fuzzed(
    graph_route: GraphApi, server_route: respx.Route
) -> AsyncIterator[Fuzzed]:
    graph = any_number_graph(graph_route)
    async with running_router(make_settings(database_url=await migrated_postgres())) as router:
        yield Fuzzed(router, server_route, graph)


def request_id_of(call: Any) -> str:
    request_id: str = call.request.headers.get("x-request-id", "")
    return request_id


def recipient_of(call: Any) -> str:
    payload = json.loads(call.request.content)
    recipient: str = payload.get("to") or payload.get("recipient") or ""
    return recipient


async def check(fuzzed: Fuzzed, run: Run) -> None:
    n = next(EXECUTIONS)
    router = fuzzed.router
    server_before, graph_before = fuzzed.server.call_count, len(fuzzed.graph.sends)
    bodies: list[bytes] = [raw.replace(b"wamid.", b"wamid.f%d." % n) for raw in run.mutated]
    senders = [f"1999{n:05d}{i:03d}" for i in range(len(run.valid))]
    for i, ((text, with_bsuid), sender) in enumerate(zip(run.valid, senders, strict=True)):
        user_id = f"US.{sender}" if with_bsuid else None
        message = text_message(f"wamid.valid.{n}.{i}", text, wa_id=sender, user_id=user_id)
        bodies.append(json.dumps(message).encode())

    async def post(index: int) -> tuple[int, httpx.Response]:
        body = bodies[index]
        headers = {
            "X-Hub-Signature-256": sign(APP_SECRET, body),
            "Content-Type": "application/json",
            "X-Request-ID": f"fuzz-{n}-{index}",
        }
        return index, await router.client.post("/webhook", content=body, headers=headers)

    answers = dict(await asyncio.gather(*(post(index) for index in run.order)))
    await router.settle(timeout=60)

    codes = {index: response.status_code for index, response in answers.items()}
    assert set(codes.values()) <= ANSWERS, codes
    asked = Counter(request_id_of(c) for c in fuzzed.server.calls[server_before:])
    for index in range(len(run.mutated)):
        stored = answers[index].json().get("messages", 0) if codes[index] == 200 else 0
        event(f"a mutated body: {codes[index]}, {stored if stored < 2 else 'several'} stored")
        assert asked[f"fuzz-{n}-{index}"] <= stored, (codes[index], answers[index].text[:200])
    sends = fuzzed.graph.sends[graph_before:]
    sent = Counter(recipient_of(c) for c in sends)
    replies = {recipient_of(c): json.loads(c.request.content)["text"]["body"] for c in sends}
    for offset, ((text, _), sender) in enumerate(zip(run.valid, senders, strict=True)):
        index = len(run.mutated) + offset
        assert codes[index] == 200
        assert answers[index].json()["messages"] == 1
        assert asked[f"fuzz-{n}-{index}"] == 1
        assert sent[sender] == 1
        assert replies[sender] == (
            f"I received your message: '{text}' and here is a random number: 7"
        )
    counts = await router.repository.reads.counts()
    assert "failed" not in counts["inbound"], counts
    assert "failed" not in counts["outbound"], counts


FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@settings(FUZZ, max_examples=100)
@given(run=runs())
async def test_post_webhook_fuzzed_on_sqlite(sqlite_fuzzed: Fuzzed, run: Run) -> None:
    await check(sqlite_fuzzed, run)


@settings(FUZZ, max_examples=30)
@given(run=runs())
async def test_post_webhook_fuzzed_on_postgresql(postgres_fuzzed: Fuzzed, run: Run) -> None:
    await check(postgres_fuzzed, run)
