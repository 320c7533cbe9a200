"""Secrets made through the API are nowhere in the database (a copy of its files, or of its rows)
nor in the logs, and messages still go out with the right token: on SQLite and PostgreSQL."""

import pytest
import respx
from sqlalchemy import select

from app.agents.models import Agent
from app.channels.models import Channel
from app.secrets.keyring import PREFIX

from ..conftest import running_router
from ..graph_api import GraphApi
from .conftest import (
    LLM_KEY,
    SALES,
    TOKENS,
    every_number_sends,
    everything_stored,
    keyed,
    new_key,
    new_token,
    set_up_numbers,
    stored_rows,
)

SECRETS = [*TOKENS.values(), LLM_KEY, "EAAG-sales-changed-2c4e"]


@pytest.mark.parametrize("keys", ["key file", "ROUTER_ENCRYPTION_KEYS"])
async def test_secrets_made_through_the_api_are_stored_encrypted_and_never_logged(
    store: str,
    keys: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    graph_route: GraphApi,
    llm_route: respx.Route,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = new_key() if keys == "ROUTER_ENCRYPTION_KEYS" else None
    async with running_router(keyed(store, key)) as router:
        ids = await set_up_numbers(router, mock_http)
        await every_number_sends(router, graph_route, llm_route, "first")
        changed = SECRETS[-1]
        await new_token(router, mock_http, ids[SALES], SALES, changed)
        await every_number_sends(
            router, graph_route, llm_route, "changed", TOKENS | {SALES: changed}
        )
        async with router.state.sessions() as session:
            # Through the models: the secrets themselves.
            tokens = set((await session.scalars(select(Channel.access_token))).all())
            config = await session.scalar(select(Agent.config).where(Agent.agent_type == "llm"))
    rows = await stored_rows(store)
    copied = everything_stored(store, rows)
    # The router's log lines as they were written (console lines on stdout), and the libraries'.
    logged = "".join(capsys.readouterr()) + caplog.text

    assert tokens == {*TOKENS.values()} - {TOKENS[SALES]} | {changed}
    assert config is not None
    assert config["api_key"] == LLM_KEY
    assert "router.started" in logged  # the logs are here
    for secret in SECRETS:
        assert secret.encode() not in copied, secret
        assert secret not in logged, secret
    assert rows["channels"]
    assert all(PREFIX in row for row in rows["channels"] if "whatsapp" in row)
    [agent] = [row for row in rows["agents"] if '"llm"' in row]
    assert PREFIX in agent
    if key is not None:
        assert key not in logged
