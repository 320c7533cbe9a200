"""PyWA clients per number and token, sharing one connection pool."""

import aiohttp

from app.outbound.whatsapp_clients import WhatsAppClients, whatsapp_clients

from ..conftest import GRAPH_URL, GRAPH_VERSION, make_settings
from ..graph_api import GraphApi
from ..meta import WA_ID


async def test_two_numbers_send_with_their_own_tokens_over_one_connection(
    graph_route: GraphApi,
) -> None:
    async with whatsapp_clients(make_settings()) as clients:
        first = clients.for_number("1110000001", "token-one")
        second = clients.for_number("1110000002", "token-two")
        for whatsapp in (first, second, first):
            await whatsapp.send_message(to=WA_ID, text="hi")

    seen = [
        (call.request.url.path, call.request.headers["authorization"]) for call in graph_route.calls
    ]
    assert seen == [
        (f"/v{GRAPH_VERSION}/1110000001/messages", "Bearer token-one"),
        (f"/v{GRAPH_VERSION}/1110000002/messages", "Bearer token-two"),
        (f"/v{GRAPH_VERSION}/1110000001/messages", "Bearer token-one"),
    ]
    # One pool: the second number's send reused the connection the first one opened.
    assert len({call.connection for call in graph_route.calls}) == 1


async def test_a_client_is_built_once_per_number_and_token(graph_route: GraphApi) -> None:
    async with whatsapp_clients(make_settings()) as clients:
        before = clients.for_number("1110000001", "old-token")
        again = clients.for_number("1110000001", "old-token")
        rotated = clients.for_number("1110000001", "new-token")
        await rotated.send_message(to=WA_ID, text="hi")

    assert again is before
    assert rotated is not before
    assert graph_route.calls.last.request.headers["authorization"] == "Bearer new-token"


async def test_the_cache_is_bounded() -> None:
    async with aiohttp.ClientSession() as pool:
        clients = WhatsAppClients(pool, f"{GRAPH_URL}/v{GRAPH_VERSION}", GRAPH_VERSION, 2)
        first = clients.for_number("1", "t")
        clients.for_number("2", "t")
        clients.for_number("3", "t")

        assert clients.for_number("1", "t") is not first  # the least recently used went first
